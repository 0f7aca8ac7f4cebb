# SPDX-License-Identifier: Apache-2.0
"""Export a training run as a policy bundle: policy.onnx + policy.pt + contract.yaml."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import io
import logging
import pathlib
import platform
import warnings

import numpy as np
import onnx
import onnxruntime
from tensordict import TensorDict
import torch

from robot_learning.atomic_write import atomic_folder
from robot_learning.config import load_config, to_dict
from robot_learning.motions.motion import load_motion
from robot_learning.policies.contract import (MOTIONS_FOLDER, ONNX_FILE, PER_JOINT_FIELDS,
                                              PolicyContract, save_contract, TORCHSCRIPT_FILE)
from robot_learning.provenance import git_revision, read_training_provenance
from robot_learning.rl.runner import latest_checkpoint
from robot_learning.rl.train_config import TrainConfig
from robot_learning.rl.training import CONFIG_FILE, make_runner
from robot_learning.robots.registry import load_robot
from robot_learning.robots.spec import RobotSpec
from robot_learning.tasks.observations import term_size
from robot_learning.tasks.registry import task_spec

ONNX_TOLERANCE = 1e-5
"""Largest allowed |onnx - torch| difference of an exported action, relative to the largest
action magnitude where that exceeds 1 (the check feeds random observations; a normalizer with
a constant input dimension maps them to large actions, where float32 rounding grows)."""


class ExportError(RuntimeError):
    """The exported graph does not reproduce the trained policy."""


def build_contract(config: TrainConfig, provenance: dict) -> PolicyContract:
    """Build the (version 2) contract of a policy trained with ``config``."""
    task = config.task
    robot = load_robot(task.robot)
    spec = task_spec(config.task_type)
    return PolicyContract(
        task=config.task_type, robot=robot.name, robot_class=robot.robot_class,
        floating_base=robot.floating_base, joint_names=robot.joint_names,
        **{key: tuple(float(v) for v in getattr(robot, key)) for key in PER_JOINT_FIELDS},
        clip_actions=task.clip_actions, observations=task.observations,
        observation_dim=sum(term_size(term.name, robot.num_joints)
                            for term in task.observations),
        clip_observations=task.clip_observations,
        control_dt=task.sim.sim_dt * task.sim.decimation, sim_dt=task.sim.sim_dt,
        provenance=provenance, **spec.contract_entries(task))


def copy_motions(motions: tuple[str, ...], robot: RobotSpec,
                 folder: pathlib.Path) -> tuple[str, ...]:
    """Write the reference motions (shipped names or ``.npz`` paths) into ``folder/motions``.

    Returns the motion names the contract lists (the file stems, in the given order).
    """
    names = []
    for source in motions:
        motion = load_motion(source, robot)
        motion.save(folder / MOTIONS_FOLDER / f'{motion.name}.npz')
        names.append(motion.name)
    return tuple(names)


def export_bundle(run_dir: str | pathlib.Path, output: str | pathlib.Path,
                  checkpoint: str | pathlib.Path | None = None,
                  command: str = '') -> pathlib.Path:
    """Write the bundle of ``run_dir``'s checkpoint (default: newest) to ``output``.

    The bundle is assembled in a temporary folder beside ``output`` and moved into place only
    after the ONNX graph has been checked against the torch actor (normalization included), so
    an interrupted export never leaves a half-written bundle.

    Raises:
        FileNotFoundError: no config or checkpoint in ``run_dir``.
        ExportError: ONNX and torch disagree by more than ONNX_TOLERANCE.
    """
    run_dir, output = pathlib.Path(run_dir), pathlib.Path(output)
    for name in ('onnx_ir', 'onnxscript'):  # the exporter's INFO chatter
        logging.getLogger(name).setLevel(logging.WARNING)
    config = load_config(TrainConfig, run_dir / CONFIG_FILE)
    checkpoint = pathlib.Path(checkpoint) if checkpoint else latest_checkpoint(run_dir)
    if checkpoint is None or not checkpoint.is_file():
        raise FileNotFoundError(f'no checkpoint model_<iteration>.pt in {run_dir}')
    small = dataclasses.replace(config, task=dataclasses.replace(config.task, num_envs=1))
    with contextlib.redirect_stdout(io.StringIO()):
        runner = make_runner(small, log_dir=None)
    runner.load(str(checkpoint), map_location='cpu')
    actor = runner.alg.get_policy()
    actor.eval()

    with atomic_folder(output) as staging:
        with contextlib.redirect_stdout(io.StringIO()):
            export_actor_onnx(actor, staging / ONNX_FILE)
            runner.export_policy_to_jit(str(staging), TORCHSCRIPT_FILE)
        inline_onnx_weights(staging / ONNX_FILE)
        max_error = check_onnx_matches_actor(staging / ONNX_FILE, actor,
                                             actor.obs_dim)
        provenance = {
            'command': command, 'training_config': to_dict(config),
            'training': read_training_provenance(run_dir),
            'checkpoint': str(checkpoint),
            'iteration': int(runner.current_learning_iteration),
            **export_record(max_error),
        }
        contract = build_contract(config, provenance)
        if contract.motions:
            robot = load_robot(config.task.robot)
            contract = dataclasses.replace(
                contract, motions=copy_motions(contract.motions, robot, staging))
        contract.validate()
        save_contract(contract, staging)
    return output


def export_record(onnx_max_abs_error: float) -> dict:
    """Return the provenance fields every bundle records: revision, time, ONNX error, versions."""
    return {
        'git_revision': git_revision(), 'onnx_max_abs_error': onnx_max_abs_error,
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'versions': {'python': platform.python_version(), 'torch': str(torch.__version__),
                     'onnxruntime': str(onnxruntime.__version__)},
    }


ONNX_DYNAMIC_AXES = {'obs': {0: 'batch'}, 'actions': {0: 'batch'}}
"""The exported graphs take any batch of observations (B, D) -> actions (B, A): one row on a
robot, many for evaluation or a vectorized deployment (``dynamic_axes`` of the TorchScript-based
exporter; the torch.export-based one takes ``dynamic_shapes``, see export_actor_onnx)."""


def export_actor_onnx(actor: torch.nn.Module, path: pathlib.Path) -> None:
    """Write rsl-rl's ONNX form of ``actor`` (normalizer included) with a dynamic batch size.

    The same graph as ``OnPolicyRunner.export_policy_to_onnx``, whose export fixes the batch
    size to its dummy input's (1).
    """
    model = actor.as_onnx(verbose=False).to('cpu').eval()
    batch = torch.export.Dim('batch')
    # torch.export's chatter: torchvision operators it skips, a pytree deprecation.
    logging.getLogger('torch.onnx._internal.exporter._registration').setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', FutureWarning)
        torch.onnx.export(model, model.get_dummy_inputs(), str(path), export_params=True,
                          opset_version=18, input_names=model.input_names,
                          output_names=model.output_names, dynamic_shapes=({0: batch},))


def inline_onnx_weights(path: pathlib.Path) -> None:
    """Rewrite an ONNX file whose weights sit in a side file as one self-contained file."""
    model = onnx.load(str(path))  # also reads external data
    for side_file in path.parent.glob(f'{path.name}.data'):
        side_file.unlink()
    onnx.save_model(model, str(path), save_as_external_data=False)


def check_onnx_matches_actor(onnx_path: pathlib.Path, actor: torch.nn.Module,
                             observation_dim: int, samples: int = 256) -> float:
    """Largest |onnx - actor| over random observations; raises ExportError above tolerance."""
    generator = torch.Generator().manual_seed(0)
    observations = torch.randn(samples, observation_dim, generator=generator) * 3.0
    with torch.inference_mode():
        expected = actor(TensorDict({'policy': observations}, batch_size=[samples])).numpy()
    return check_onnx_output(onnx_path, observations.numpy(), expected)


def check_onnx_output(onnx_path: pathlib.Path, observations: np.ndarray,
                      expected: np.ndarray) -> float:
    """Run ``onnx_path`` on observations (S, D): row by row and in one batch.

    One row at a time is what a deployment does; the batch of S checks that the graph's batch
    size is dynamic. Returns the largest |onnx - expected| over the (S, A) actions of both
    runs; raises ExportError above ONNX_TOLERANCE (relative to the largest action magnitude
    where that exceeds 1), or when the graph refuses a batch.
    """
    session = onnxruntime.InferenceSession(str(onnx_path), providers=['CPUExecutionProvider'])
    observations = np.asarray(observations, dtype=np.float32)
    rows = np.concatenate([session.run(None, {'obs': row[None]})[0] for row in observations])
    try:
        batch = session.run(None, {'obs': observations})[0]
    except Exception as error:  # onnxruntime's errors derive from Exception only
        raise ExportError(f'{onnx_path}: the graph refuses a batch of {len(observations)} '
                          f'observations (its batch size is not dynamic): {error}') from error
    max_error = float(max(np.max(np.abs(rows - expected)), np.max(np.abs(batch - expected))))
    tolerance = ONNX_TOLERANCE * max(1.0, float(np.max(np.abs(expected))))
    if max_error > tolerance:
        raise ExportError(f'{onnx_path}: ONNX output differs from the torch policy by '
                          f'{max_error:.2e} > {tolerance:.2g}')
    return max_error
