# SPDX-License-Identifier: Apache-2.0
"""Impedance matching figures: recover the actuators of the mismatched-actuator realities.

For each robot, chirp every joint of ``config/reality/<robot>_mujoco_actuator.yaml`` (hung on a
stand, ``trials`` noise seeds), match the nominal MuJoCo simulator to it without being told
the reality's values, and compare with them:

- recovered effective kp (kp x kp_scale x motor_strength), kd and armature per joint: the
  matched (group median) value's relative error, worst joint (goal: within 10 %);
- latency: the matched value's error in physics steps (goal: within one);
- Bode magnitude RMS error over the kept band before and after matching (goal: <= 1 dB).

    .venv/bin/python benchmarks/impedance_matching.py --output runs/impedance_benchmark

Writes ``summary.json``, ``summary.png`` and, per robot, the outputs of ``robot-learning
impedance fit`` (matched_robot.yaml, dynamics.yaml, randomization.yaml, report.json, Bode
overlays).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import numpy as np

from robot_learning.impedance_matching.excitation import ExcitationConfig
from robot_learning.impedance_matching.experiment import run_excitation
from robot_learning.impedance_matching.identify import joint_group, match, Simulator
from robot_learning.impedance_matching.outputs import write_outputs
from robot_learning.impedance_matching.plots import plot_summary
from robot_learning.robots.registry import load_robot
from robot_learning.sim.base import SimConfig
from robot_learning.sim.reality import load_reality


ENCODER_NOISE = {'quadruped': 0.001, 'humanoid': 0.001, 'arm': 0.0005}
"""joint_position_noise added to each reality [rad]: trials differ by their noise draws."""


def truth(reality, robot) -> dict[str, np.ndarray]:
    """Per-joint effective actuator values of a reality (what the fitter should find)."""
    dynamics = reality.dynamics
    strength = dynamics.get('motor_strength', 1.0)
    return {'kp': robot.kp * dynamics.get('kp_scale', 1.0) * strength,
            'kd': robot.kd * dynamics.get('kd_scale', 1.0) * strength,
            'armature': robot.armature * dynamics.get('armature_scale', 1.0),
            'latency': dynamics.get('action_latency', 0.0)}


def evaluate(robot_name: str, trials: int, excitation: ExcitationConfig,
             output: pathlib.Path) -> dict:
    """Excite, match and score one robot's mismatched-actuator reality."""
    reality = load_reality(f'{robot_name}_mujoco_actuator')
    robot = load_robot(reality.robot)
    start = time.perf_counter()
    dynamics = dict(reality.dynamics, joint_position_noise=ENCODER_NOISE[robot_name])
    recording = run_excitation(robot, reality.backend, reality.sim, dynamics,
                               np.arange(robot.num_joints), excitation, trials=trials,
                               source=f'sim:{reality.name}')
    recording.save(output / robot_name / 'recording.npz')
    simulator = Simulator(robot, 'mujoco', SimConfig(sim_dt=reality.sim.sim_dt))
    result = match(recording, simulator, (excitation.f_start, excitation.f_end))
    write_outputs(result, robot_name, output / robot_name)
    seconds = time.perf_counter() - start
    expected = truth(reality, robot)
    matched = result.matched_robot
    row = {'label': robot_name, 'reality': reality.name, 'seconds': seconds,
           'joints': robot.num_joints, 'trials': trials}
    for name, values in (('kp', matched.kp), ('kd', matched.kd),
                         ('armature', matched.armature)):
        error = np.abs(values / expected[name] - 1.0)
        row[f'{name}_error_max'] = float(error.max())
        row[f'{name}_error_median'] = float(np.median(error))
        row[f'{name}_worst_joint'] = robot.joint_names[int(error.argmax())]
        fitted = np.array([getattr(fit.actuator, name) / expected[name][
            robot.joint_index(fit.joint)] - 1.0 for fit in result.fits])
        row[f'{name}_error_per_fit_max'] = float(np.abs(fitted).max())
    # The armature where the fitter identified it (groups it could not keep the robot's own).
    identified = np.array([joint_group(name) not in result.unidentified_armature
                           for name in robot.joint_names])
    error = np.abs(matched.armature / expected['armature'] - 1.0)
    row['unidentified_armature'] = list(result.unidentified_armature)
    row['armature_error_max_identified'] = float(error[identified].max()) \
        if identified.any() else None
    latency = result.dynamics['action_latency']
    row['latency_true_ms'] = 1e3 * expected['latency']
    row['latency_matched_ms'] = 1e3 * latency
    row['latency_error_steps'] = abs(latency - expected['latency']) / reality.sim.sim_dt
    row['latency_error_per_fit_max_steps'] = float(max(
        abs(fit.actuator.latency - expected['latency']) for fit in result.fits)
        / reality.sim.sim_dt)
    before = [fit.rms_db(fit.nominal_sim) for fit in result.fits]
    after = [fit.rms_db(fit.matched_sim) for fit in result.fits]
    row.update(rms_db_before=float(np.max(before)), rms_db_before_mean=float(np.mean(before)),
               rms_db_after=float(np.max(after)), rms_db_after_mean=float(np.mean(after)))
    row['dynamics'] = result.dynamics
    row['true_dynamics'] = {k: reality.dynamics.get(k, 0.0)
                            for k in ('joint_damping', 'friction_loss')}
    row['randomization'] = result.ranges
    return row


def main() -> None:
    """Run the benchmark and write the summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--robots', nargs='*', default=['quadruped', 'humanoid', 'arm'])
    parser.add_argument('--trials', type=int, default=2)
    parser.add_argument('--duration', type=float, default=30.0, help='sweep [s]')
    parser.add_argument('--output', default='runs/impedance_benchmark')
    args = parser.parse_args()
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    excitation = ExcitationConfig(duration=args.duration)
    rows = []
    for robot_name in args.robots:
        row = evaluate(robot_name, args.trials, excitation, output)
        rows.append(row)
        print(json.dumps({k: v for k, v in row.items() if not isinstance(v, dict)}, indent=1),
              flush=True)
        (output / 'summary.json').write_text(json.dumps(rows, indent=2) + '\n')
    plot_summary(rows, output / 'summary.png')


if __name__ == '__main__':
    main()
