# SPDX-License-Identifier: Apache-2.0
"""The shipped humanoid motion-tracking bundle tracks every shipped motion, closed loop.

Bound: in MuJoCo (the training engine) every motion succeeds (mean body distance never above
0.5 m) with a global mean body-position error below 80 mm (measured 41.8 mm: squat 36.1,
arm swing 33.9, step in place 52.3, kick 45.2) and a joint error below 0.15 rad (0.086).
"""

from __future__ import annotations

from robot_learning.evaluation.bundle import evaluate_bundle
from robot_learning.evaluation.setup import EvaluationConfig
from robot_learning.paths import share_dir

BUNDLE = share_dir() / 'policies' / 'humanoid_motion'


def test_the_shipped_policy_tracks_every_motion_in_mujoco():
    report = evaluate_bundle(BUNDLE, EvaluationConfig())
    assert set(report['motions']) == {'squat', 'arm_swing', 'step_in_place', 'kick'}
    for name, metrics in report['motions'].items():
        assert metrics['success'] == 1.0, name
        assert metrics['e_g_mpjpe_mm'] < 80.0, (name, metrics)
        assert metrics['joint_error_rad'] < 0.15, (name, metrics)
