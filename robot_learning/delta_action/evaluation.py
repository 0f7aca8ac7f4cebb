# SPDX-License-Identifier: Apache-2.0
"""Open-loop evaluation of the alignment methods on held-out clips, report and plot.

Methods (each optional except vanilla): ``vanilla`` (the training simulator as it is),
``sysid`` (the simulator with the identified dynamics), ``delta_dynamics`` (every simulated
state corrected by the residual model), ``asap`` (recorded targets + offset(pi_delta)). Every
method replays the same clips (start times ``clip_stride_s`` apart) from the recorded states;
metrics are those of ``replay`` (mm and rad), after each of ``eval_horizons_s``.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_path, atomic_write_text
from robot_learning.delta_action.clips import ClipSet
from robot_learning.delta_action.config import DeltaConfig
from robot_learning.delta_action.delta_dynamics import DeltaDynamicsCorrection
from robot_learning.delta_action.model import DeltaActionModel, DeltaActionTransform
from robot_learning.delta_action.replay import errors, recorded, replay, summarize
from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.robots.registry import load_robot
from robot_learning.sim.registry import make_backend

METHODS = ('vanilla', 'sysid', 'delta_dynamics', 'asap')


def evaluate_open_loop(config: DeltaConfig, clips: ClipSet,
                       delta_model: DeltaActionModel | None = None,
                       sysid: dict[str, float] | None = None,
                       delta_dynamics: DeltaDynamicsCorrection | None = None,
                       max_clips: int = 0) -> dict:
    """Replay the clips with every available method; return the report.

    Returns:
        {'clips', 'horizons_s', 'methods': {method: {'<h>s': {metric: value}}},
        'reduction_vs_vanilla': {method: fraction of vanilla's g_mpjpe_mm removed at the
        longest horizon}, 'asap_inputs' (with a delta model): mean |offset| [rad] and |a| of
        the replay (``DeltaActionTransform.input_statistics``)}.
    """
    robot = load_robot(config.robot)
    kinematics = BodyKinematics(robot)
    starts = clips.spaced_starts(config.steps(config.clip_stride_s), max_clips)
    horizons = {f'{h:g}s': min(config.steps(h), clips.horizon) for h in config.eval_horizons_s}
    real = recorded(clips, starts)
    backend = make_backend(config.backend, robot, starts.size, config.sim)
    env_ids = np.arange(starts.size)
    report = {'clips': int(starts.size), 'horizon_steps': clips.horizon,
              'horizons_s': list(config.eval_horizons_s), 'sources': list(clips.sources),
              'methods': {}}
    try:
        runs = {'vanilla': ({}, None, None)}
        if sysid:
            runs['sysid'] = (sysid, None, None)
        if delta_dynamics is not None:
            runs['delta_dynamics'] = ({}, None, delta_dynamics)
        if delta_model is not None:
            runs['asap'] = ({}, DeltaActionTransform(delta_model, starts.size), None)
        for method, (dynamics, transform, correction) in runs.items():
            backend.set_dynamics(env_ids, {**_nominal(config), **dict(config.dynamics),
                                           **dynamics})
            simulated = replay(backend, clips, starts, transform, correction)
            report['methods'][method] = summarize(errors(kinematics, simulated, real), horizons)
            if transform is not None:  # |offset| and |a| on recordings (finetune.yaml: rollouts)
                report['asap_inputs'] = transform.input_statistics()
    finally:
        backend.close()
    longest = list(horizons)[-1]
    vanilla = report['methods']['vanilla'][longest]['g_mpjpe_mm']
    report['reduction_vs_vanilla'] = {
        method: 1.0 - values[longest]['g_mpjpe_mm'] / vanilla
        for method, values in report['methods'].items() if method != 'vanilla'}
    return report


def _nominal(config: DeltaConfig) -> dict[str, float]:
    """Return the nominal value of every parameter a method may change (resets sysid)."""
    from robot_learning.sim.dynamics import PARAMETERS
    return {name: PARAMETERS[name].nominal for name in config.sysid.parameters}


def write_json(report: dict, path: str | pathlib.Path) -> pathlib.Path:
    """Write ``report`` as JSON atomically."""
    return atomic_write_text(path, json.dumps(report, indent=2, default=float))


def plot_open_loop(report: dict, path: str | pathlib.Path) -> pathlib.Path:
    """Bar chart of global body error and joint error per method and horizon (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    path = pathlib.Path(path)
    methods = list(report['methods'])
    horizons = list(report['methods']['vanilla'])
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    width = 0.8 / len(methods)
    for axis, metric, label in ((axes[0], 'g_mpjpe_mm', 'global body position error [mm]'),
                                (axes[1], 'joint_rad', 'joint position error [rad]')):
        for i, method in enumerate(methods):
            values = [report['methods'][method][h][metric] for h in horizons]
            axis.bar(np.arange(len(horizons)) + i * width, values, width, label=method)
        axis.set_xticks(np.arange(len(horizons)) + width * (len(methods) - 1) / 2, horizons)
        axis.set_xlabel('open-loop replay length')
        axis.set_ylabel(label)
    axes[0].legend()
    figure.suptitle(f"open-loop replay on {report['clips']} held-out clips")
    figure.tight_layout()
    try:
        with atomic_path(path) as temporary:
            figure.savefig(temporary, dpi=110, format='png')
    finally:
        plt.close(figure)
    return path
