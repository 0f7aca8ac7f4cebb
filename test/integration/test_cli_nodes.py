# SPDX-License-Identifier: Apache-2.0
"""``robot-learning node ...`` starts the same nodes as the console scripts, without launch."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.ros


def _env() -> dict[str, str]:
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST', ROS_DOMAIN_ID='65')
    return env


def test_node_sim_runs_the_bridge_for_its_duration_and_exits_cleanly():
    result = subprocess.run(
        [sys.executable, '-m', 'robot_learning.cli.main', 'node', 'sim_bridge', '--ros-args',
         '-p', 'duration:=0.2', '-p', 'real_time_factor:=4.0'],
        env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_node_policy_with_a_missing_bundle_fails_with_a_clear_message(tmp_path):
    result = subprocess.run(
        [sys.executable, '-m', 'robot_learning.cli.main', 'node', 'policy_node', '--ros-args',
         '-p', f'bundle:={tmp_path / "no_bundle"}'],
        env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert 'no_bundle' in result.stdout + result.stderr
