# SPDX-License-Identifier: Apache-2.0
"""Motion-tracking reward terms, metrics and observation terms against hand-worked values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from robot_learning.evaluation.motions import tracking_metrics
from robot_learning.tasks import tracking_rewards as TR
from robot_learning.tasks.observations import (compute_observation, ObservationInputs,
                                               ObservationTerm, term_size)


def test_body_position_kernel_averages_squares_over_bodies_and_axes():
    body = np.zeros((1, 2, 3))
    reference = np.zeros((1, 2, 3))
    reference[0, 0, 0] = 0.1  # one body 0.1 m off along x: mean square 0.01 / 6
    assert TR.body_pos_exp(body, reference, 0.03)[0] == pytest.approx(math.exp(-0.01 / 6 / 0.03))
    assert TR.body_pos_exp(reference, reference, 0.03)[0] == 1.0


def test_root_orientation_kernel_uses_the_rotation_angle():
    half = 0.3 / 2
    yawed = np.array([[math.cos(half), 0.0, 0.0, math.sin(half)]])
    upright = np.array([[1.0, 0.0, 0.0, 0.0]])
    assert TR.root_orientation_exp(yawed, upright, 0.5)[0] == pytest.approx(math.exp(-0.09 / 0.5))


def test_mean_square_kernel():
    value = np.array([[1.0, 2.0]])
    assert TR.mean_square_exp(value, np.zeros((1, 2)), 2.0)[0] == pytest.approx(
        math.exp(-2.5 / 2.0))


def test_body_distances_global_and_root_relative():
    reference = np.zeros((1, 2, 3))
    body = np.zeros((1, 2, 3))
    body[0, 0] = [0.3, 0.4, 0.0]  # 0.5 m off; the other body exact
    assert TR.mean_body_distance(body, reference)[0] == pytest.approx(0.25)
    shifted = reference + np.array([1.0, 2.0, 2.0])  # the whole body translated by 3 m
    assert TR.mean_body_distance(shifted, reference)[0] == pytest.approx(3.0)
    assert TR.root_relative_distance(shifted, reference)[0] == pytest.approx(0.0)
    np.testing.assert_array_equal(TR.termination(np.array([True, False])), [1.0, 0.0])


def test_tracking_metrics_of_a_constant_offset():
    frames = 10
    reference = np.cumsum(np.ones((frames, 3, 3)) * 0.01, axis=0)  # bodies moving together
    joints = np.zeros((frames, 4))
    near = tracking_metrics(reference + [0.1, 0.0, 0.0], reference, joints + 0.2, joints)
    assert near['success'] == 1.0
    assert near['e_g_mpjpe_mm'] == pytest.approx(100.0)
    assert near['e_mpjpe_mm'] == pytest.approx(0.0, abs=1e-9)
    assert near['e_vel_mm'] == pytest.approx(0.0, abs=1e-9)
    assert near['e_acc_mm'] == pytest.approx(0.0, abs=1e-9)
    assert near['joint_error_rad'] == pytest.approx(0.2)
    far = reference.copy()
    far[-1] += [0.0, 0.6, 0.0]  # one frame 0.6 m away: the 0.5 m rule fails the rollout
    metrics = tracking_metrics(far, reference, joints, joints)
    assert metrics['success'] == 0.0 and metrics['max_body_distance_m'] == pytest.approx(0.6)
    assert metrics['e_g_mpjpe_mm'] == pytest.approx(60.0)
    # Only the last first difference is off (by 0.6 m over 3 bodies / 9 differences).
    assert metrics['e_vel_mm'] == pytest.approx(600.0 / 9)


def test_motion_observation_terms():
    default = np.array([0.1, -0.2])
    inputs = ObservationInputs(
        base_quat=np.array([[1.0, 0.0, 0.0, 0.0]]), base_lin_vel=np.zeros((1, 3)),
        base_ang_vel=np.zeros((1, 3)), joint_pos=np.zeros((1, 2)), joint_vel=np.zeros((1, 2)),
        default_joint_pos=default, command=np.zeros((1, 3)), last_action=np.zeros((1, 2)),
        motion_phase=np.array([[0.25]]), reference_joint_pos=np.array([[0.5, 0.5]]))
    terms = (ObservationTerm('motion_phase'), ObservationTerm('reference_joint_pos', (2.0,)))
    np.testing.assert_allclose(compute_observation(terms, inputs), [[0.25, 0.8, 1.4]])
    assert term_size('motion_phase', 21) == 1 and term_size('reference_joint_pos', 21) == 21
    inputs.motion_phase = None
    with pytest.raises(ValueError, match="'motion_phase' needs a reference motion"):
        compute_observation(terms, inputs)
