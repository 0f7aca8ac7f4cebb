# SPDX-License-Identifier: Apache-2.0
"""Chirp experiments in simulation: any backend, any dynamics, the robot hung on a stand.

Each excited joint gets its own environment, so all joints of a robot are measured in one
batched run. Commands are issued and states sampled at the physics rate (decimation 1), as a
motor driver's log would be; legged robots are bolted ``HANG_CLEARANCE`` above their standing
height so that the feet swing freely (Guan et al.: "body fixed to a stand").
"""

from __future__ import annotations

import dataclasses

import numpy as np

from robot_learning.impedance_matching.excitation import (check_limits, excitation_signal,
                                                          ExcitationConfig)
from robot_learning.impedance_matching.recording import JointRecording, Recording
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimConfig
from robot_learning.sim.registry import make_backend

HANG_CLEARANCE = 0.5
"""Height added to a legged robot's standing base height when it hangs on the stand [m]."""


def hung_robot(robot: RobotSpec, clearance: float = HANG_CLEARANCE) -> RobotSpec:
    """Return ``robot`` with its base bolted ``clearance`` above its standing height.

    Fixed-base robots (arms) are returned unchanged.
    """
    if not robot.floating_base:
        return robot
    return dataclasses.replace(robot, floating_base=False,
                               init_base_height=robot.init_base_height + clearance)


def run_excitation(robot: RobotSpec, backend: str, sim: SimConfig, dynamics: dict[str, float],
                   joints: np.ndarray, excitation: ExcitationConfig, trials: int = 1,
                   settle: float = 1.0, source: str = 'sim') -> Recording:
    """Excite ``joints`` (indices) of ``robot`` in simulation, one environment per joint.

    Args:
        robot: the robot (hung on a stand here if it has a floating base).
        backend: engine name (``robot_learning.sim.registry.BACKENDS``).
        sim: engine options; its ``sim_dt`` is the command and sample period, decimation 1.
        dynamics: dynamics parameter values of every environment (e.g. a reality's).
        joints: indices of the joints to excite.
        excitation: the signal.
        trials: repetitions; trial ``i`` draws sensor noise with seed ``sim.seed + i``.
        settle: time at the default pose before the recording starts [s].
        source: recorded as the recording's source.

    Returns:
        One JointRecording per joint and trial, with torques.
    """
    joints = np.asarray(joints, dtype=int)
    check_limits(robot, joints, excitation)
    offsets = excitation_signal(excitation, 1.0 / sim.sim_dt)
    offsets = np.repeat(offsets[:, None], joints.size, axis=1)
    return run_commands(robot, backend, sim, dynamics, joints, offsets, trials, settle, source)


def run_commands(robot: RobotSpec, backend: str, sim: SimConfig, dynamics: dict[str, float],
                 joints: np.ndarray, offsets: np.ndarray, trials: int = 1, settle: float = 1.0,
                 source: str = 'sim') -> Recording:
    """Like :func:`run_excitation`, with given offsets (T, K) from the default position [rad].

    Column k is commanded to ``joints[k]``, one sample per physics step ``sim.sim_dt``.
    """
    joints = np.asarray(joints, dtype=int)
    rows = np.arange(joints.size)
    items = []
    for trial in range(trials):
        config = dataclasses.replace(sim, decimation=1, seed=sim.seed + trial)
        engine = make_backend(backend, hung_robot(robot), joints.size, config)
        try:
            if dynamics:
                engine.set_dynamics(rows, dict(dynamics))
            engine.reset(rows)
            default = np.tile(robot.default_joint_pos, (joints.size, 1))
            for _ in range(int(round(settle / sim.sim_dt))):
                engine.step(default)
            position = np.zeros(offsets.shape)
            torque = np.zeros(offsets.shape)
            targets = default.copy()
            state = engine.get_state()
            for t, offset in enumerate(offsets):
                position[t] = state.joint_pos[rows, joints]
                targets[rows, joints] = robot.default_joint_pos[joints] + offset
                engine.step(targets)
                state = engine.get_state()
                torque[t] = state.joint_torque[rows, joints]  # applied during step t
        finally:
            engine.close()
        for row, joint in enumerate(joints):
            items.append(JointRecording(
                joint=robot.joint_names[joint], rate=1.0 / sim.sim_dt,
                command=robot.default_joint_pos[joint] + offsets[:, row],
                position=position[:, row], torque=torque[:, row], trial=trial))
    return Recording(robot=robot.name, source=source, joints=tuple(items))
