# SPDX-License-Identifier: Apache-2.0
"""Deploy a motion-tracking bundle on a reality over ROS 2 and keep each motion as a clip.

For every motion of the bundle's contract, the sim bridge (the "real robot", in lock-step),
the recorder and then the policy node (playing that motion from activation on) run as separate
processes talking real DDS; the bag is exported to a control-rate trajectory (real states:
joints from /joint_states, base pose and velocity from /odom as motion capture would give them;
the joint targets actually sent on /joint_commands). The clip starts at the first policy
command (motion time 0: the first target that is not the soft start's default pose), lasts the
motion, and is scored against the reference with ``evaluation.motions``.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import time

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor

from robot_learning.atomic_write import atomic_write_text
from robot_learning.data.trajectory import Trajectory
from robot_learning.evaluation.motions import mean_metrics, rollout_metrics
from robot_learning.motions.clips import clip_from_bag
from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.motions.library import MotionLibrary
from robot_learning.policies.contract import load_contract
from robot_learning.robots.registry import load_robot
from robot_learning.ros.sim_to_sim import (_check_alive, Operator, ros_environment, start_node,
                                           stop_process)
from robot_learning.tasks.registry import task_spec

LOCKSTEP_TIMEOUT_S = 5.0
"""The bridge steps with the held targets only after this long without a command [s]."""
SOFT_START_S = 0.02
"""Soft start of the policy node [s]: one control period. The humanoid does not stand on
its PD drives alone (it tips over within a second at the default pose); the bridge starts it
at the default pose, which is every motion's first frame, so the policy takes over at once."""


def collect_motion_clips(bundle: str | pathlib.Path, reality: str, output: str | pathlib.Path,
                         motions: tuple[str, ...] = (), domain_id: int = 70,
                         repeats: int = 1) -> dict:
    """Record ``repeats`` clips of each motion on ``reality``; return (and write) the report.

    Writes ``<output>/<motion>_<k>.npz`` (data.trajectory.Trajectory files), the runs (bags,
    node logs) under ``<output>/runs/`` and ``<output>/clips.json``.
    """
    bundle, output = pathlib.Path(bundle).resolve(), pathlib.Path(output)
    contract = load_contract(bundle)
    if task_spec(contract.task).operator_input != 'reference_motion':
        raise ValueError(f"{bundle}: a '{contract.task}' policy, not a motion-tracking one")
    robot = load_robot(contract.robot)
    library = MotionLibrary.read(contract.motion_paths(bundle))
    kinematics = BodyKinematics(robot, library.body_names)
    clips, per_clip = [], {}
    for source in motions or contract.motions:
        name = library.names[library.index(source)]
        duration = float(library.durations[library.index(name)])
        for repeat in range(repeats):
            clip = f'{name}_{repeat}'
            run_dir = output / 'runs' / clip
            if run_dir.exists():
                shutil.rmtree(run_dir)
            trajectory = record_motion(bundle, reality, name, duration, run_dir, domain_id)
            motion_time = trajectory.time - trajectory.time[0]
            per_clip[clip] = rollout_metrics(library, kinematics, name, motion_time,
                                             trajectory.base_pos, trajectory.base_quat,
                                             trajectory.joint_pos)
            path = trajectory.save(output / f'{clip}.npz')
            clips.append({'clip': clip, 'motion': name, 'path': str(path),
                          'samples': len(trajectory), 'bag': str(run_dir / 'bag')})
    report = {'bundle': str(bundle), 'reality': reality, 'clips': clips,
              'metrics': mean_metrics(per_clip), 'per_clip': per_clip}
    atomic_write_text(output / 'clips.json', json.dumps(report, indent=2, default=_plain))
    return report


def record_motion(bundle: pathlib.Path, reality: str, motion: str, duration: float,
                  output: pathlib.Path, domain_id: int = 70,
                  startup_timeout: float = 90.0) -> Trajectory:
    """Play ``motion`` once over ROS 2 on ``reality``; return the clip (duration / dt + 1 rows).

    The recorder subscribes before the policy node starts, and the lock-step bridge waits up
    to ``LOCKSTEP_TIMEOUT_S`` for each command, so the bag holds the motion from its start.
    """
    contract = load_contract(bundle)
    output.mkdir(parents=True, exist_ok=True)
    bag = output / 'bag'
    env = ros_environment(domain_id)
    processes = {
        'sim_bridge': start_node('robot_learning.ros.sim_bridge_node', {
            'reality': reality, 'lockstep': True, 'lockstep_timeout': LOCKSTEP_TIMEOUT_S}, env,
            output / 'sim_bridge.log'),
        'recorder': start_node('robot_learning.ros.recorder_node', {'output': str(bag)}, env,
                               output / 'recorder.log'),
    }
    os.environ['ROS_DOMAIN_ID'] = str(domain_id)
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    deadline = time.monotonic() + startup_timeout
    try:
        while 'recording /joint_states ' not in _read(output / 'recorder.log'):
            _check_alive(processes, output)
            if time.monotonic() > deadline:
                raise TimeoutError(f'the recorder did not subscribe to /joint_states within '
                                   f'{startup_timeout} s; see {output}/recorder.log')
            time.sleep(0.1)
        processes['policy_node'] = start_node('robot_learning.ros.policy_node', {
            'bundle': str(bundle), 'auto_activate': True, 'mode': 'lockstep',
            'watchdog_periods': 50.0, 'soft_start_duration': SOFT_START_S, 'motion': motion},
            env, output / 'policy_node.log')
        with rclpy.init():
            operator = Operator(((duration + 1.0, 0.0, 0.0, 0.0),))
            executor = SingleThreadedExecutor()
            executor.add_node(operator)
            while operator.policy_state != 'running' or operator.sim_time is None:
                executor.spin_once(timeout_sec=0.05)
                _check_alive(processes, output)
                if time.monotonic() > deadline:
                    raise TimeoutError(f'policy node not running after {startup_timeout} s '
                                       f'(state {operator.policy_state!r}); see {output}/*.log')
            start = operator.sim_time
            while operator.sim_time < start + duration + 0.5:
                executor.spin_once(timeout_sec=0.01)
                _check_alive(processes, output)
            operator.destroy_node()
    finally:
        for name in ('policy_node', 'sim_bridge', 'recorder'):
            if name in processes:
                stop_process(processes[name])
    return clip_from_bag(bag, contract, duration)


def _read(path: pathlib.Path) -> str:
    return path.read_text(encoding='utf-8', errors='replace') if path.is_file() else ''


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
