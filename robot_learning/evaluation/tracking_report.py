# SPDX-License-Identifier: Apache-2.0
"""Velocity-tracking metrics and plots of a recorded run (a Trajectory from a bag).

Metric names (JSON report, key ``metrics``):
- ``lin_vel_error``: mean |v_xy - cmd_xy| in the base frame [m/s] over the samples after
  ``settle_s`` seconds of each constant command (the robot needs time to reach a new speed).
- ``lin_vel_error_all``: the same over every sample [m/s].
- ``yaw_rate_error``: mean |w_z - cmd_yaw| after settling [rad/s].
- ``target_position_error``: mean |joint target - joint position| [rad] (how hard the PD works).
- ``duration``: recorded time [s]; ``samples``: number of control-rate samples.
- Smoothness and standing (``evaluation/smoothness.py``): ``target_change_mean``,
  ``target_change_p95`` [rad per step], ``target_change_nyquist_share``, and on the longest
  zero-command stretch after ``settle_s``: ``standing_target_change_mean``/``_p95``,
  ``standing_target_change_nyquist_share``, ``standing_to_walking_change_ratio``,
  ``standing_height_drift`` [m], ``standing_yaw_drift`` [rad], ``standing_duration`` [s].
  Foot slip needs contact sensing, which a bag of joint states and odometry does not have.
"""

from __future__ import annotations

import pathlib

import numpy as np

from robot_learning.evaluation.smoothness import standing_metrics, target_change_metrics
from robot_learning.rotations import quat_rotate_inverse


def settled_mask(time: np.ndarray, commands: np.ndarray, settle_s: float) -> np.ndarray:
    """(T,) True where the command has been constant for at least ``settle_s`` seconds."""
    changed = np.any(np.abs(np.diff(commands, axis=0)) > 1e-9, axis=1)
    last_change = np.zeros(time.shape)
    current = time[0]
    for index in range(len(time)):
        if index > 0 and changed[index - 1]:
            current = time[index]
        last_change[index] = current
    return time - last_change >= settle_s


def tracking_metrics(trajectory, settle_s: float = 1.0) -> dict:
    """Compute the tracking metrics of a Trajectory (see the module docstring)."""
    velocity = quat_rotate_inverse(trajectory.base_quat, trajectory.base_lin_vel)
    commands = trajectory.commands
    planar_error = np.linalg.norm(velocity[:, :2] - commands[:, :2], axis=1)
    yaw_error = np.abs(trajectory.base_ang_vel[:, 2] - commands[:, 2])
    settled = settled_mask(trajectory.time, commands, settle_s)
    return {
        'lin_vel_error': float(np.mean(planar_error[settled])) if settled.any() else float('nan'),
        'lin_vel_error_all': float(np.mean(planar_error)),
        'yaw_rate_error': float(np.mean(yaw_error[settled])) if settled.any() else float('nan'),
        'target_position_error': float(np.mean(np.abs(trajectory.actions
                                                      - trajectory.joint_pos))),
        'duration': float(trajectory.time[-1] - trajectory.time[0]),
        'samples': int(len(trajectory.time)),
        **target_change_metrics(trajectory.actions),
        **standing_metrics(trajectory.time, commands, trajectory.actions, trajectory.base_pos,
                           trajectory.base_quat, settle_s),
    }


def plot_tracking(trajectory, path: str | pathlib.Path, joints: int = 3) -> pathlib.Path:
    """Save commanded vs measured velocity and joint targets vs positions as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot

    velocity = quat_rotate_inverse(trajectory.base_quat, trajectory.base_lin_vel)
    time = trajectory.time - trajectory.time[0]
    figure, axes = pyplot.subplots(4, 1, figsize=(10, 11), sharex=True)
    labels = (('forward velocity [m/s]', 0, velocity[:, 0]),
              ('lateral velocity [m/s]', 1, velocity[:, 1]),
              ('yaw rate [rad/s]', 2, trajectory.base_ang_vel[:, 2]))
    for (label, index, measured), color in zip(labels, ('C0', 'C1', 'C2')):
        axes[0].plot(time, trajectory.commands[:, index], '--', color=color,
                     label=f'{label} commanded')
        axes[0].plot(time, measured, color=color, label=f'{label} measured')
    axes[0].set_title('velocity command vs measured (base frame)')
    axes[0].legend(fontsize=7, ncol=3)
    for joint in range(min(joints, trajectory.joint_pos.shape[1])):
        name = trajectory.joint_names[joint]
        axes[1].plot(time, trajectory.actions[:, joint], '--', color=f'C{joint}',
                     label=f'{name} target')
        axes[1].plot(time, trajectory.joint_pos[:, joint], color=f'C{joint}',
                     label=f'{name} position')
    axes[1].set_ylabel('[rad]')
    axes[1].set_title('joint targets vs positions')
    axes[1].legend(fontsize=7, ncol=2)
    axes[2].plot(time, trajectory.base_pos[:, 2])
    axes[2].set_ylabel('base height [m]')
    change = np.abs(np.diff(trajectory.actions, axis=0)).mean(axis=1)
    axes[3].plot(time[1:], change, color='C3')
    axes[3].set_ylabel('[rad / step]')
    axes[3].set_title('joint-target change per control step (mean over joints)')
    axes[3].set_xlabel('time [s]')
    figure.tight_layout()
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path
