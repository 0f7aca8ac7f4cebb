# SPDX-License-Identifier: Apache-2.0
"""Bag -> LeRobot dataset (format v3.0): one episode per gap-free stretch, one frame per step.

The bag is resampled exactly as ``data/bag_export.py`` does (joints picked by name into the
contract's order, states interpolated, joint targets held, gaps never bridged), on a grid of
``control_dt`` (the contract's, or ``1 / rate``); every gap-free segment becomes one episode.
The dataset is written (and read back) through ``LeRobotDataset`` of the ``lerobot-dataset``
package (``ledataset``: LeRobot's dataset code without its robot and policy dependencies), with
``create`` / ``add_frame`` / ``save_episode`` / ``finalize``, into a new folder that appears
whole or not at all.

Features (float32, per-joint columns in the contract's joint order; no images or videos):

- ``observation.state`` (2J,): joint positions [rad] then joint velocities [rad/s], named
  ``<joint>.pos`` and ``<joint>.vel``;
- ``action`` (J,): the joint position targets [rad] the policy sent during the frame,
  ``<joint>.pos``;
- ``observation.velocity_command`` (3,): ``vx`` [m/s], ``vy`` [m/s], ``yaw_rate`` [rad/s] in
  effect, only when the bag has the velocity-command topic.

Frame ``k`` of an episode has LeRobot's ``timestamp = k / fps`` (fps = the grid rate, an
integer); where in the bag each episode starts is in the returned report.
"""

from __future__ import annotations

import os
import pathlib
import sys
from typing import Any, Sequence

import numpy as np

from robot_learning.atomic_write import atomic_folder
from robot_learning.data import bag_io
from robot_learning.data.bag_export import BagExportError, BagTopics, export_bag
from robot_learning.data.trajectory import Trajectory

COMMAND_NAMES = ('vx', 'vy', 'yaw_rate')
FPS_TOLERANCE = 1e-6
"""Relative distance of ``1 / control_dt`` from an integer still taken as that integer."""
INSTALL_HINT = ("pip install -e '.[lerobot]' && pip install --no-deps lerobot-dataset==0.4.4 "
                '(make venv does both)')
TORCHVISION_SCHEMAS = (
    'nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
    'qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor',
)
"""The torchvision operators that ``torchvision/_meta_registrations.py`` needs to exist."""
_torchvision_schemas: Any = None
"""Keeps the ``torch.library.Library`` of :data:`TORCHVISION_SCHEMAS` alive (see below)."""


class LeRobotUnavailableError(ImportError):
    """The ``lerobot-dataset`` package (or a module it imports) is not installed."""


def _import_torchvision() -> None:
    """Import torchvision, also where its C++ operators cannot load.

    PyPI's torchvision wheels for x86-64 Linux are CUDA builds: next to the CPU torch that this
    project installs, their operator library does not load (it links libtorch_cuda), and
    ``import torchvision`` then stops on registering a fake kernel for the missing
    ``torchvision::nms``. LeRobotDataset imports torchvision for images and videos, which this
    export does not write; so the missing operator schemas are defined (without kernels: calling
    ``torchvision.ops.nms`` would still fail) and the import is repeated. A working torchvision
    is imported untouched.
    """
    global _torchvision_schemas
    try:
        import torchvision  # noqa: F401
        return
    except RuntimeError as error:
        if 'torchvision::nms' not in str(error):
            raise
    import torch
    for name in [name for name in sys.modules
                 if name == 'torchvision' or name.startswith('torchvision.')]:
        del sys.modules[name]
    if _torchvision_schemas is None:
        library = torch.library.Library('torchvision', 'DEF')
        for schema in TORCHVISION_SCHEMAS:
            library.define(schema)
        _torchvision_schemas = library
    import torchvision  # noqa: F401, F811


def lerobot_dataset_class() -> type:
    """Return ``LeRobotDataset`` of the ``lerobot-dataset`` package (imported on first use).

    Raises:
        LeRobotUnavailableError: The package or one of the modules it imports is missing.
    """
    try:
        _import_torchvision()
        from ledataset.datasets.lerobot_dataset import LeRobotDataset
    except ImportError as error:
        raise LeRobotUnavailableError(
            f'LeRobot export needs the lerobot-dataset package ({error}); install it with '
            f'{INSTALL_HINT}') from error
    return LeRobotDataset


def integer_fps(control_dt: float) -> int:
    """Return ``1 / control_dt`` as an integer frame rate [Hz] (LeRobot stores an integer).

    Raises:
        ValueError: ``control_dt`` is not positive or its rate is not an integer.
    """
    if not control_dt > 0:
        raise ValueError(f'control_dt must be positive, got {control_dt}')
    rate = 1.0 / control_dt
    fps = int(round(rate))
    if fps < 1 or abs(rate - fps) > FPS_TOLERANCE * rate:
        raise ValueError(f'a LeRobot dataset needs an integer frame rate; control_dt '
                         f'{control_dt} s is {rate:.6g} Hz: resample at an integer rate '
                         '(--rate HZ)')
    return fps


def lerobot_features(joint_names: Sequence[str], velocity_command: bool) -> dict[str, dict]:
    """Return the LeRobot feature specification of the export (see the module docstring)."""
    positions = [f'{name}.pos' for name in joint_names]
    features = {
        'observation.state': {
            'dtype': 'float32', 'shape': (2 * len(joint_names),),
            'names': positions + [f'{name}.vel' for name in joint_names]},
        'action': {'dtype': 'float32', 'shape': (len(joint_names),), 'names': positions},
    }
    if velocity_command:
        features['observation.velocity_command'] = {
            'dtype': 'float32', 'shape': (len(COMMAND_NAMES),), 'names': list(COMMAND_NAMES)}
    return features


def _frames(segment: Trajectory, velocity_command: bool) -> dict[str, np.ndarray]:
    """Per-frame feature arrays of one segment, float32, time axis first."""
    frames = {
        'observation.state': np.concatenate([segment.joint_pos, segment.joint_vel], axis=1),
        'action': segment.actions,
    }
    if velocity_command:
        frames['observation.velocity_command'] = segment.commands
    return {name: values.astype(np.float32) for name, values in frames.items()}


def _check(segments: list[Trajectory], report: dict, topics: BagTopics, bag: pathlib.Path,
           ) -> None:
    """Refuse what a LeRobot dataset cannot hold: stamps going back, no targets, no velocities."""
    backwards = report['topics'][topics.joint_states]['out_of_order']
    if backwards:
        raise BagExportError(
            f'{bag}: the stamps of {topics.joint_states} go backwards {backwards} time(s) '
            '(a restarted clock?); the states cannot be ordered in time. Cut the bag into '
            'monotonic parts first', report)
    missing = set(segments[0].missing)
    if 'actions' in missing:
        raise BagExportError(
            f'{bag}: no joint targets for the LeRobot action: neither {topics.joint_commands} '
            f'nor {topics.joint_trajectory} has usable messages (--topic joint_commands=TOPIC)',
            report)
    if 'joint_vel' in missing:
        raise BagExportError(f'{bag}: {topics.joint_states} carries no joint velocities, '
                             'which observation.state holds', report)


def export_lerobot(bag: str | os.PathLike, output: str | os.PathLike,
                   joint_names: Sequence[str], control_dt: float, robot: str = '',
                   task: str = '', repo_id: str | None = None, topics: BagTopics = BagTopics(),
                   min_steps: int = 2, hold_targets: bool = False,
                   max_gap: float | None = None) -> dict:
    """Write a bag as a LeRobot v3.0 dataset into the new folder ``output``.

    Args:
        bag: Bag folder (or bare ``.mcap`` / ``.db3`` file).
        output: Dataset folder to create; it must not exist.
        joint_names: Joint order of the features (the policy contract's).
        control_dt: Frame period [s]; ``1 / control_dt`` must be an integer rate.
        robot: LeRobot ``robot_type``.
        task: Task text of every frame (LeRobot requires one).
        repo_id: LeRobot repository id; default ``local/<output folder name>``.
        topics: Topic names to read.
        min_steps: Gap-free stretches shorter than this many frames are dropped.
        hold_targets: Hold a late joint target instead of cutting the data (see
            :func:`export_bag`).
        max_gap: Longest stamp step [s] that is not a gap; None: 1.5 control periods.

    Returns:
        The report of :func:`export_bag` (gaps, out-of-order stamps, segments) with
        ``lerobot``: {``output``, ``repo_id``, ``fps``, ``task``, ``features``, ``episodes``
        [{``episode_index``, ``frames``, ``start_s`` (after the first ``/joint_states``
        stamp), ``start_stamp_s`` (source clock)}]}.

    Raises:
        FileExistsError: ``output`` exists.
        FileNotFoundError: No such bag.
        ValueError: ``1 / control_dt`` is not an integer, or ``max_gap`` is too short.
        bag_io.BagError: The bag cannot be read.
        BagExportError: An empty bag, no usable ``/joint_states`` or joint targets, joints
            missing from it, its stamps going backwards, or no gap-free stretch of
            ``min_steps`` frames.
        LeRobotUnavailableError: ``lerobot-dataset`` is not installed.
    """
    bag, output = pathlib.Path(bag), pathlib.Path(output)
    if output.exists():
        raise FileExistsError(f'{output}: exists already; a LeRobot dataset is written to a new '
                              'folder')
    fps = integer_fps(control_dt)
    if bag_io.bag_info(bag).message_count == 0:
        raise BagExportError(f'{bag}: the bag is empty (no messages)')
    segments, report = export_bag(bag, joint_names, control_dt, robot, topics=topics,
                                  on_gap='split', min_steps=min_steps,
                                  hold_targets=hold_targets, max_gap=max_gap)
    _check(segments, report, topics, bag)
    velocity_command = topics.cmd_vel in report['topics']
    features = lerobot_features(joint_names, velocity_command)
    repo_id = repo_id or f'local/{output.name}'
    dataset_class = lerobot_dataset_class()
    episodes = []
    with atomic_folder(output) as staging:
        staging.rmdir()  # LeRobotDataset.create makes the folder itself
        dataset = dataset_class.create(repo_id, fps, features, root=staging, robot_type=robot,
                                       use_videos=False)
        for index, segment in enumerate(segments):
            frames = _frames(segment, velocity_command)
            for step in range(len(segment)):
                dataset.add_frame({**{name: values[step] for name, values in frames.items()},
                                   'task': task})
            dataset.save_episode()
            episodes.append({'episode_index': index, 'frames': len(segment),
                             'start_s': float(segment.time[0] - report['t0_s']),
                             'start_stamp_s': float(segment.time[0])})
        dataset.finalize()
    report['lerobot'] = {'output': str(output), 'repo_id': repo_id, 'fps': fps, 'task': task,
                         'features': {name: spec['names'] for name, spec in features.items()},
                         'episodes': episodes}
    return report
