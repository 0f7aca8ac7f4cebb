# SPDX-License-Identifier: Apache-2.0
"""Files written by impedance matching, each in a form another part of the toolkit loads.

- ``matched_robot.yaml``: the robot's YAML with matched per-joint ``kp``, ``kd`` and
  ``armature`` (``load_robot(path)``; a training config's ``task.robot``).
- ``dynamics.yaml``: ``dynamics: {joint_damping, friction_loss, action_latency}`` (a training
  config's ``task.dynamics``, a reality config's ``dynamics``, ``evaluate --set``).
- ``randomization.yaml``: ``randomization: {method: uniform, parameters: {name: [low, high]}}``
  (``robot_learning.domain_randomization.config.RandomizationConfig``).
- ``report.json``: per joint and trial fits, per group medians and spread, Bode errors.
- ``bode_<group>.png``: measured vs simulated Bode overlays before and after matching.

Nothing is written unless the whole match succeeded.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np
import yaml

from robot_learning.atomic_write import atomic_write_text
from robot_learning.config import load_yaml
from robot_learning.impedance_matching.identify import MatchResult
from robot_learning.impedance_matching.plots import plot_groups
from robot_learning.robots.registry import robots_dir


def robot_yaml(robot_name_or_path: str) -> dict:
    """Load the YAML mapping of a registered robot (by name) or of a robot YAML file."""
    path = pathlib.Path(robot_name_or_path)
    if path.suffix not in ('.yaml', '.yml'):
        path = robots_dir() / f'{robot_name_or_path}.yaml'
    return load_yaml(path)


def matched_robot_yaml(result: MatchResult, robot_name_or_path: str) -> dict:
    """Return the robot's YAML mapping with the matched per-joint kp, kd and armature."""
    data = robot_yaml(robot_name_or_path)
    robot = result.matched_robot
    data['kp'] = [round(float(v), 6) for v in robot.kp]
    data['kd'] = [round(float(v), 6) for v in robot.kd]
    data['armature'] = [round(float(v), 8) for v in robot.armature]
    data['description'] = (data.get('description', '') + ' (impedance matched)').strip()
    return data


def report(result: MatchResult) -> dict:
    """Build the JSON report that ``write_outputs`` writes."""
    joints = []
    for fit in result.fits:
        joints.append({
            'joint': fit.joint, 'group': fit.group, 'trial': fit.trial,
            **{key: float(value) for key, value in dataclasses.asdict(fit.actuator).items()},
            'plant': {key: (float(value) if not isinstance(value, bool) else value)
                      for key, value in dataclasses.asdict(fit.plant).items()},
            'cost': fit.cost,
            'standard_error': (None if fit.standard_error is None else {
                field.name: (float(value) if np.isfinite(value) else None)
                for field, value in zip(dataclasses.fields(fit.actuator), fit.standard_error)}),
            'armature_identified': fit.armature_identified,
            'kept_band_hz': [float(fit.measured.position.frequency[fit.measured.position.kept]
                                   .min()),
                             float(fit.measured.position.frequency[fit.measured.position.kept]
                                   .max())],
            'rms_db_before': fit.rms_db(fit.nominal_sim),
            'rms_db_after': fit.rms_db(fit.matched_sim) if fit.matched_sim else None,
        })
    before = [row['rms_db_before'] for row in joints]
    after = [row['rms_db_after'] for row in joints if row['rms_db_after'] is not None]
    return {
        'robot': result.robot.name,
        'torque_measured': result.torque_measured,
        'matched': {'kp': result.matched_robot.kp.tolist(),
                    'kd': result.matched_robot.kd.tolist(),
                    'armature': result.matched_robot.armature.tolist(),
                    'joint_names': list(result.robot.joint_names)},
        'dynamics': result.dynamics,
        'unidentified_armature': list(result.unidentified_armature),
        'randomization': result.ranges,
        'groups': result.group_table(),
        'rms_db_before': {'mean': float(np.mean(before)), 'max': float(np.max(before))},
        'rms_db_after': ({'mean': float(np.mean(after)), 'max': float(np.max(after))}
                         if after else None),
        'joints': joints,
    }


def write_outputs(result: MatchResult, robot_name_or_path: str, folder: str | pathlib.Path,
                  plots: bool = True) -> dict[str, pathlib.Path]:
    """Write the files listed in the module docstring into ``folder``; returns their paths."""
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / name for name in ('matched_robot.yaml', 'dynamics.yaml',
                                              'randomization.yaml', 'report.json')}
    header = f'# Impedance matching of {result.robot.name} (robot-learning impedance fit).\n'
    _write_yaml(paths['matched_robot.yaml'], matched_robot_yaml(result, robot_name_or_path),
                header)
    _write_yaml(paths['dynamics.yaml'], {'dynamics': result.dynamics}, header)
    _write_yaml(paths['randomization.yaml'],
                {'randomization': {'method': 'uniform', 'parameters': result.ranges}}, header)
    atomic_write_text(paths['report.json'], json.dumps(report(result), indent=2) + '\n')
    if plots:
        for path in plot_groups(result, folder):
            paths[path.name] = path
    return paths


def _write_yaml(path: pathlib.Path, data: dict, header: str) -> None:
    atomic_write_text(path,
                      header + yaml.safe_dump(data, sort_keys=False, default_flow_style=None))
