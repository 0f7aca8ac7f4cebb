# SPDX-License-Identifier: Apache-2.0
"""Motion clips from recordings: a rosbag2 of a motion-tracking run -> one control-rate clip.

Works on bags from a robot or from the sim bridge alike (no ROS install needed): the bag is
exported with the contract's joint order and period (``data.bag_export``), and the clip runs
from the policy's first command (motion time 0) for the motion's duration.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from robot_learning.data.bag_export import export_bag_for_contract
from robot_learning.data.trajectory import Trajectory


def clip_from_bag(bag: str | os.PathLike, contract, duration: float) -> Trajectory:
    """Export ``bag`` (from a robot or a simulated one) and cut the motion clip out of it.

    The bag needs the policy node's topics (/joint_states, /odom, /joint_commands, /imu/data);
    ``data.bag_export`` names a missing topic or mismatched joints.
    """
    trajectories, _ = export_bag_for_contract(bag, contract, on_gap='split', hold_targets=True)
    return motion_clip(trajectories, np.asarray(contract.default_joint_pos), duration, bag)


def motion_clip(trajectories: list[Trajectory], default_joint_pos: np.ndarray,
                duration: float, where: pathlib.Path | str = '') -> Trajectory:
    """Cut the motion out of exported trajectories: from the first policy target, ``duration``.

    The soft start ends exactly at the default pose, so the first target that differs from it
    (by more than 1e-6 rad) is the policy's first command, at motion time 0.
    """
    for trajectory in trajectories:
        moved = np.flatnonzero(np.max(np.abs(trajectory.actions - default_joint_pos),
                                      axis=1) > 1e-6)
        if moved.size == 0:
            continue
        first = int(moved[0])
        steps = int(round(duration / trajectory.control_dt)) + 1
        if len(trajectory) - first < steps:
            raise ValueError(f'{where}: the recording holds {len(trajectory) - first} control '
                             f'steps after the first policy command at '
                             f'{trajectory.time[first]:.2f} s; the motion needs {steps}')
        return trajectory.segment(first, first + steps)
    raise ValueError(f'{where}: no policy command in the recording (only default-pose targets)')
