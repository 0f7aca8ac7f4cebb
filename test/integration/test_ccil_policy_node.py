# SPDX-License-Identifier: Apache-2.0
"""A CCIL-cloned quadruped bundle runs in the ROS 2 policy node (real rclpy over DDS).

The clone (6 expert demonstrations, BackTrack labels) is a small-data clone that may fall on
the PyBullet reality (see the CCIL results in docs/ccil.md), so the tilt fault is lifted here: the
test checks the plumbing (contract accepted, soft start, the bundle driving the robot from
every state message), not the clone's skill.
"""

import dataclasses

import pytest
import torch

from robot_learning.ccil.augmentation import augment, training_set
from robot_learning.ccil.behaviour_cloning import train_bc
from robot_learning.ccil.bundle import export_bc_bundle
from robot_learning.ccil.config import BCConfig, CCILConfig, DynamicsConfig
from robot_learning.ccil.evaluation import collect_demonstrations
from robot_learning.data.bag_io import bag_info, read_messages
from robot_learning.paths import share_dir
from robot_learning.policies.contract import load_contract
from robot_learning.ros.sim_to_sim import run_sim_to_sim, SimToSimConfig

pytestmark = pytest.mark.ros
DOMAIN_ID = 72
"""This issue's ROS domain (72 and 73 are CCIL's)."""


def test_the_policy_node_runs_a_ccil_bundle(tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        demos = collect_demonstrations('quadruped_velocity', 6, seed=5)
        config = CCILConfig(dynamics=DynamicsConfig(hidden=(64, 64), epochs=10),
                            bc=BCConfig(hidden=(256, 256), epochs=60))
        config = dataclasses.replace(config, labels=dataclasses.replace(
            config.labels, fixed_dims=(9, 10, 11, *range(36, 48))))
        result = augment(demos, config)
        states, actions = demos.samples()
        policy, _ = train_bc(*training_set(demos, result.kept), config.bc,
                             normalisation_data=(states, actions))
    finally:
        torch.set_num_threads(threads)
    contract = load_contract(share_dir() / 'policies' / 'quadruped_flat')
    bundle = export_bc_bundle(policy, contract, tmp_path / 'ccil_bundle', {'method': 'ccil'})
    report = run_sim_to_sim(SimToSimConfig(
        bundle=str(bundle), output=str(tmp_path / 'run'), domain_id=DOMAIN_ID,
        profile=((3.0, 0.5, 0.0, 0.0),),
        bridge_parameters={'lockstep': True, 'lockstep_timeout': 0.1},
        policy_parameters={'watchdog_periods': 50.0, 'mode': 'lockstep', 'max_tilt': 3.2}))
    assert report['metrics']['duration'] > 2.0
    counts = {name: topic.message_count
              for name, topic in bag_info(tmp_path / 'run' / 'bag').topics.items()}
    assert counts.get('/joint_commands', 0) > 100
    states = [message.message.data for message in
              read_messages(tmp_path / 'run' / 'bag', ['/policy/safety_state'])]
    assert 'running' in states and 'refused' not in states, states
