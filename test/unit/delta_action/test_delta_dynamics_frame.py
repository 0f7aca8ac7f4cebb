# SPDX-License-Identifier: Apache-2.0
"""Delta dynamics works in the heading frame.

The same scene turned about z gets the same correction, turned with it.
"""

import numpy as np
import torch

from robot_learning.delta_action.delta_dynamics import (DeltaDynamicsCorrection,
                                                        DeltaDynamicsModel, from_heading_frame,
                                                        heading_frame, model_input, state_vector,
                                                        to_heading_frame, with_vector)
from robot_learning.robots.registry import load_robot
from robot_learning.rotations import heading_of, quat_multiply, quat_rotate, yaw_quat
from robot_learning.sim.base import SimState

JOINTS = 12


def _state(rng, count: int = 5) -> SimState:
    quat = rng.normal(size=(count, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    return SimState(base_pos=rng.normal(size=(count, 3)), base_quat=quat,
                    base_lin_vel=rng.normal(size=(count, 3)),
                    base_ang_vel=rng.normal(size=(count, 3)),
                    joint_pos=rng.normal(size=(count, JOINTS)),
                    joint_vel=rng.normal(size=(count, JOINTS)),
                    joint_torque=np.zeros((count, JOINTS)),
                    contact_force=np.zeros((count, 4)), contact_pos=np.zeros((count, 4, 3)))


def _turned(state: SimState, yaw: float) -> SimState:
    """Return the same state seen after turning the world by ``yaw`` about z."""
    turn = yaw_quat(np.full(len(state.base_pos), yaw))
    vector = state_vector(state).copy()
    vector[:, 0:3] = quat_rotate(turn, vector[:, 0:3])
    vector[:, 3:7] = quat_multiply(turn, vector[:, 3:7])
    vector[:, 7:10] = quat_rotate(turn, vector[:, 7:10])
    return with_vector(state, vector)


def test_a_known_heading_is_recovered_and_the_frames_round_trip():
    rng = np.random.default_rng(0)
    state = _state(rng)
    level = _turned(with_vector(state, np.concatenate(
        [state_vector(state)[:, :3], np.tile([1.0, 0, 0, 0], (5, 1)),
         state_vector(state)[:, 7:]], axis=1)), 0.7)
    np.testing.assert_allclose(heading_of(heading_frame(level)), 0.7, atol=1e-12)
    residual = rng.normal(size=(5, 13 + 2 * JOINTS))
    frame = heading_frame(state)
    local = to_heading_frame(residual, frame)
    back = from_heading_frame(torch.as_tensor(local), torch.as_tensor(frame)).numpy()
    np.testing.assert_allclose(back, residual, atol=1e-12)
    # In its own heading frame a state faces +x (no yaw left), with w >= 0.
    own = to_heading_frame(state_vector(state), frame)
    np.testing.assert_allclose(heading_of(own[:, 3:7]), 0.0, atol=1e-12)
    assert (own[:, 3] >= 0).all()


def test_the_correction_turns_with_the_scene():
    rng = np.random.default_rng(1)
    robot = load_robot('quadruped')
    state, simulated = _state(rng), _state(rng)
    targets = robot.default_joint_pos + 0.1 * rng.normal(size=(5, JOINTS))
    model = DeltaDynamicsModel(11 + 3 * JOINTS, 13 + 2 * JOINTS, (16,))
    torch.nn.init.normal_(model.net[-1].weight)  # a model that is not the zero correction
    correction = DeltaDynamicsCorrection(model.eval(), robot)
    np.testing.assert_allclose(model_input(_turned(state, 1.3), targets, robot),
                               model_input(state, targets, robot), atol=1e-9)
    corrected = correction(state, targets, simulated)
    corrected_turned = correction(_turned(state, 1.3), targets, _turned(simulated, 1.3))
    expected = state_vector(_turned(corrected, 1.3))
    np.testing.assert_allclose(state_vector(corrected_turned), expected, atol=1e-5)
    assert np.abs(state_vector(corrected) - state_vector(simulated)).max() > 1e-2
