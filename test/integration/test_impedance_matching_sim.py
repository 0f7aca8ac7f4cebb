# SPDX-License-Identifier: Apache-2.0
"""Impedance matching in MuJoCo through the CLI: recover a hung quadruped calf's actuator.

The reality (config/reality/quadruped_mujoco_actuator.yaml) sets effective kp 20 x 1.25 x 0.9
= 22.5 N·m/rad, kd 0.5 x 0.7 x 0.9 = 0.315 N·m·s/rad, armature 0.01 x 1.5 = 0.015 kg·m² and
10 ms latency; the fitter is only given the recording and the nominal robot.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from robot_learning.cli.main import main
from robot_learning.config import from_dict, load_yaml
from robot_learning.domain_randomization.config import RandomizationConfig
from robot_learning.impedance_matching.recording import Recording
from robot_learning.robots.registry import load_robot
from robot_learning.sim.dynamics import check_values


@pytest.fixture(scope='module')
def matched(tmp_path_factory):
    folder = tmp_path_factory.mktemp('impedance')
    recording = folder / 'calf.npz'
    assert main(['impedance', 'excite', '--reality', 'quadruped_mujoco_actuator',
                 '--joints', 'FL_calf', '--duration', '12', '--f-start', '1.0',
                 '--output', str(recording)]) == 0
    assert main(['impedance', 'fit', str(recording), '--band', '1', '20',
                 '--output', str(folder / 'out')]) == 0
    return folder


def test_fit_recovers_the_reality_actuator(matched):
    report = json.loads((matched / 'out' / 'report.json').read_text())
    fit = report['joints'][0]
    assert fit['joint'] == 'FL_calf_joint'
    assert fit['kp'] == pytest.approx(22.5, rel=0.05)
    assert fit['kd'] == pytest.approx(0.315, rel=0.15)
    assert fit['armature'] == pytest.approx(0.015, rel=0.10)
    assert fit['latency'] == pytest.approx(0.010, abs=0.005)  # within one 5 ms step
    assert fit['rms_db_after'] < 1.0 < fit['rms_db_before']
    # The calf's rotor is about 4/5 of its inertia: the armature is pinned to about 1 %.
    assert fit['armature_identified']
    assert fit['standard_error']['armature'] < 0.1 * fit['armature']
    assert fit['standard_error']['kp'] < 0.02 * fit['kp']
    assert report['unidentified_armature'] == []


def test_outputs_load_where_they_are_meant_to(matched):
    robot = load_robot(str(matched / 'out' / 'matched_robot.yaml'))
    calf = robot.joint_index('FL_calf_joint')
    assert robot.kp[calf] == pytest.approx(22.5, rel=0.05)
    assert robot.kp[robot.joint_index('FL_hip_joint')] == 20.0  # not measured: unchanged
    check_values(load_yaml(matched / 'out' / 'dynamics.yaml')['dynamics'])
    block = load_yaml(matched / 'out' / 'randomization.yaml')['randomization']
    config = from_dict(RandomizationConfig, block)
    assert {'kp_scale', 'kd_scale', 'armature_scale', 'action_latency'} <= set(config.box().names)
    assert (matched / 'out' / 'bode_calf.png').stat().st_size > 10_000


def test_incoherent_recording_is_refused_and_nothing_is_written(matched, capsys):
    recording = Recording.load(matched / 'calf.npz')
    item = recording.joints[0]
    noise = np.random.default_rng(0).normal(item.position.mean(), 0.01, item.position.size)
    broken = Recording(recording.robot, 'test', (type(item)(
        item.joint, item.rate, item.command, noise, item.torque),))
    path = broken.save(matched / 'noise.npz')
    assert main(['impedance', 'fit', str(path), '--band', '1', '20',
                 '--output', str(matched / 'refused')]) == 2
    assert 'coherence below 0.9 at every frequency' in capsys.readouterr().err
    assert not (matched / 'refused').exists()
