# SPDX-License-Identifier: Apache-2.0
"""Soak test: the sim-to-sim stack for N minutes with a varying command profile.

The sim bridge in driver mode (500 Hz best-effort state with jitter, drops and extra joints, a
ground-truth odometry topic), the shipped quadruped policy on its 50 Hz timer and the recorder
(writing a bag to a temporary folder) run as separate processes over DDS on loopback; this
process is the operator: a new /cmd_vel every ``--segment`` s of simulated time, drawn (seeded)
from 80 % of the contract's command ranges, every fourth segment a stop. Reported per process:
crash (exited before the end, with its code) and resident memory (RSS, from psutil when
installed, else ``/proc/<pid>/status`` VmRSS) sampled every 5 s: first sample after a 20 %
warm-up, last, growth and the least-squares slope [MiB/min]. Reported for the node: damping
events (each followed by a robot reset and a node reset, so the soak goes on) and falls (ground
truth tilt > 1 rad).

Usage: ``python benchmarks/soak.py --minutes 2``; writes ``docs/results/soak.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from std_msgs.msg import Empty, String

from robot_learning.atomic_write import atomic_write_text
from robot_learning.paths import share_dir
from robot_learning.policies.command_limits import COMMAND_KEYS
from robot_learning.policies.contract import load_contract
from robot_learning.policies.safety import base_tilt
from robot_learning.ros.conversions import time_seconds
from robot_learning.ros.sim_to_sim import ros_environment, start_node, stop_process

ROOT = pathlib.Path(__file__).resolve().parents[1]
SAMPLE_PERIOD = 5.0
"""[s] wall time between two memory samples."""
WARM_UP = 0.2
"""Fraction of the run before the first memory sample counted in the growth."""
FALL_TILT = 1.0
"""[rad] ground-truth tilt counted as a fall."""


def rss_mib(pid: int) -> float:
    """Resident memory of process ``pid`` [MiB] (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        for line in pathlib.Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmRSS:'):
                return float(line.split()[1]) / 1024.0  # kB
        raise RuntimeError(f'no VmRSS for process {pid}')
    return psutil.Process(pid).memory_info().rss / 2**20


def command_profile(ranges: dict, segments: int, seed: int) -> np.ndarray:
    """(segments, 3) commands: uniform in 80 % of each range, every fourth one zero."""
    rng = np.random.default_rng(seed)
    low = np.array([ranges.get(key, [0.0, 0.0])[0] for key in COMMAND_KEYS]) * 0.8
    high = np.array([ranges.get(key, [0.0, 0.0])[1] for key in COMMAND_KEYS]) * 0.8
    commands = rng.uniform(low, high, size=(segments, 3))
    commands[3::4] = 0.0
    return commands


class SoakOperator(Node):
    """Publishes the profile, counts damping events and falls, resets after each."""

    def __init__(self) -> None:
        super().__init__('soak_operator')
        self.sim_time: float | None = None
        self.state = ''
        self.damping_events = 0
        self.falls = 0
        self.tilt_max = 0.0
        self._fallen = False
        self.cmd_vel = self.create_publisher(Twist, '/cmd_vel', 10)
        self.fault = self.create_publisher(String, '/sim_bridge/fault', 10)
        self.reset = self.create_publisher(Empty, '/policy/reset', 10)
        self.create_subscription(Clock, '/clock', self._on_clock, 10)
        self.create_subscription(String, '/policy/safety_state', self._on_state, 10)
        self.create_subscription(Odometry, '/ground_truth', self._on_ground_truth, 100)
        self.executor_ = SingleThreadedExecutor()
        self.executor_.add_node(self)

    def _on_clock(self, message: Clock) -> None:
        self.sim_time = time_seconds(message.clock)

    def _on_state(self, message: String) -> None:
        if message.data == 'damping' and self.state != 'damping':
            self.damping_events += 1
        self.state = message.data

    def _on_ground_truth(self, message: Odometry) -> None:
        q = message.pose.pose.orientation
        tilt = base_tilt(np.array([q.w, q.x, q.y, q.z]))
        self.tilt_max = max(self.tilt_max, tilt)
        if tilt > FALL_TILT and not self._fallen:
            self.falls += 1
        self._fallen = tilt > FALL_TILT

    def publish(self, command: np.ndarray) -> None:
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.angular.z = (float(v) for v in command)
        self.cmd_vel.publish(twist)

    def recover(self) -> None:
        """After a damping event: robot back on its feet, node reset (soft start)."""
        self.fault.publish(String(data='reset'))
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            self.executor_.spin_once(timeout_sec=0.01)
        self.reset.publish(Empty())


def main() -> None:
    """Run the soak, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--minutes', type=float, default=5.0, help='wall-clock minutes')
    parser.add_argument('--segment', type=float, default=4.0,
                        help='simulated seconds per command segment')
    parser.add_argument('--reality', default='quadruped_pybullet_nominal')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--domain-id', type=int, default=89)
    parser.add_argument('--output', type=pathlib.Path,
                        default=ROOT / 'docs' / 'results' / 'soak.json')
    args = parser.parse_args()
    if not args.minutes > 0:
        parser.error(f'--minutes must be > 0, got {args.minutes}')
    bundle = share_dir() / 'policies' / 'quadruped_flat'
    contract = load_contract(bundle)
    duration = 60.0 * args.minutes
    profile = command_profile(contract.command_ranges,
                              int(duration / args.segment) + 2, args.seed)
    logs = pathlib.Path(tempfile.mkdtemp(prefix='soak_'))
    env = ros_environment(args.domain_id)
    processes = {
        'sim_bridge': start_node('robot_learning.ros.sim_bridge_node', {
            'reality': args.reality, 'driver': True, 'ground_truth_topic': '/ground_truth'},
            env, logs / 'sim_bridge.log'),
        'policy_node': start_node('robot_learning.ros.policy_node', {
            'bundle': str(bundle), 'auto_activate': True, 'watchdog_periods': 15.0},
            env, logs / 'policy_node.log'),
        'recorder': start_node('robot_learning.ros.recorder_node',
                               {'output': str(logs / 'bag')}, env, logs / 'recorder.log'),
    }
    print(f'logs in {logs}', flush=True)
    os.environ['ROS_DOMAIN_ID'] = str(args.domain_id)
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in processes}
    exits: dict[str, int | None] = {}
    start = time.monotonic()
    sim_start = None
    try:
        with rclpy.init():
            operator = SoakOperator()
            deadline = time.monotonic() + 60.0
            while operator.state != 'running' or operator.sim_time is None:
                operator.executor_.spin_once(timeout_sec=0.05)
                if time.monotonic() > deadline or any(
                        process.poll() is not None for process in processes.values()):
                    raise RuntimeError(f'the stack did not start; see {logs}')
            start = time.monotonic()
            sim_start = operator.sim_time
            next_sample = next_command = 0.0
            damping_since = None
            while time.monotonic() - start < duration:
                now = time.monotonic()
                operator.executor_.spin_once(timeout_sec=0.01)
                if now >= next_command:
                    next_command = now + 0.05
                    segment = int((operator.sim_time - sim_start) / args.segment)
                    operator.publish(profile[min(segment, len(profile) - 1)])
                if now >= next_sample:
                    next_sample = now + SAMPLE_PERIOD
                    for name, process in processes.items():
                        if process.poll() is None:
                            samples[name].append((now - start, rss_mib(process.pid)))
                if any(process.poll() is not None for process in processes.values()):
                    break
                if operator.state == 'damping':
                    damping_since = damping_since or now
                    if now - damping_since > 1.0:
                        operator.recover()
                        damping_since = None
                else:
                    damping_since = None
            wall = time.monotonic() - start
            sim = operator.sim_time - sim_start
            damping_events, falls, tilt_max = (operator.damping_events, operator.falls,
                                               operator.tilt_max)
            operator.destroy_node()
    finally:
        for name in ('policy_node', 'sim_bridge', 'recorder'):  # the node first: no stale end
            exits[name] = processes[name].poll()
            stop_process(processes[name])
    memory = {}
    for name, values in samples.items():
        kept = [(t, rss) for t, rss in values if t >= WARM_UP * duration] or values
        times, rss = np.array(kept).T if kept else (np.zeros(1), np.zeros(1))
        slope = float(np.polyfit(times / 60.0, rss, 1)[0]) if len(kept) >= 3 else float('nan')
        memory[name] = {'rss_first_mib': float(rss[0]), 'rss_last_mib': float(rss[-1]),
                        'growth_mib': float(rss[-1] - rss[0]), 'slope_mib_per_min': slope,
                        'samples': len(values)}
    crashes = {name: code for name, code in exits.items() if code is not None}
    report = {
        'command': 'python benchmarks/soak.py ' + ' '.join(sys.argv[1:]),
        'reality': args.reality, 'wall_s': wall, 'simulated_s': sim,
        'real_time_factor': sim / wall if wall else float('nan'),
        'crashes': crashes, 'damping_events': damping_events,
        'damping_reasons': [line.split('damping: ', 1)[1] for line in (
            logs / 'policy_node.log').read_text(encoding='utf-8').splitlines()
            if 'damping: ' in line],
        'falls': falls,
        'tilt_max_rad': tilt_max, 'memory': memory,
        'rss_source': 'psutil' if _has_psutil() else '/proc/<pid>/status VmRSS',
    }
    lines = ['| process | crash | RSS first [MiB] | RSS last [MiB] | growth [MiB] | '
             'slope [MiB/min] |', '|---|---|---|---|---|---|']
    for name, values in memory.items():
        lines.append(f"| {name} | {crashes.get(name, 'none')} | {values['rss_first_mib']:.1f} | "
                     f"{values['rss_last_mib']:.1f} | {values['growth_mib']:+.1f} | "
                     f"{values['slope_mib_per_min']:+.2f} |")
    report['table'] = '\n'.join(lines)
    print(report['table'])
    print(f'{wall / 60:.1f} min wall, {sim:.0f} s simulated, damping events {damping_events}, '
          f'falls {falls}, crashes {crashes or "none"}')
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(report, indent=2) + '\n')
    print(f'wrote {args.output}')


def _has_psutil() -> bool:
    try:
        import psutil  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == '__main__':
    main()
