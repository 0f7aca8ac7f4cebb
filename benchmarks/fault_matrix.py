# SPDX-License-Identifier: Apache-2.0
"""Inject node faults over DDS in sim-to-sim and count falls within 3 s of each fault.

The sim bridge runs in driver mode (physics on the wall clock, state at 500 Hz best effort with
jitter, drops and extra joints) with a never-faulted ground-truth odometry topic; the shipped
quadruped policy runs on its own 50 Hz timer; this process is the operator. Per run: the robot
is reset standing (bridge ``reset``), the node is reset to soft-start, the robot walks at
0.5 m/s for ``--walk`` s, then one fault is injected (mid-gait) and the base tilt is read from
the ground truth for 3 s of simulated time. A fall is a tilt above 1 rad in that window.

Fault types (``FAULTS``): joint states stopped, bridge paused (no sensor message at all), a
joint renamed mid-run, frozen stamps (the last JointState re-published), non-finite /cmd_vel
(inf, published at 20 Hz), the emergency stop.

Variants (one bridge and one node process pair each, ``--variants``):

- ``before``: the degraded mode before issue 17: on stale joint states the node damps toward the
  last MEASURED pose (``stale_target: measured``), which is old (the position interface). Only
  that mode is kept: the old arrival-only freshness and the unvalidated /cmd_vel are gone, so the
  'before' rows of frozen stamps and non-finite /cmd_vel use today's detection and validation;
- ``after``: the position interface today: hold the last target, then settle on the default pose;
- ``after_gains``: the ``position_gains`` interface: true damping (kp 0, kd = the contract's).

Usage: ``python benchmarks/fault_matrix.py --runs 10`` (all faults, all variants; about 10 s a
run); ``--faults paused frozen_stamps --variants after`` for a subset. Prints the falls table
and writes ``docs/results/fault_matrix.json``. Goal: at most 1 fall in 10 for every fault type.
"""

from __future__ import annotations

import argparse
import json
import math
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
from std_msgs.msg import Bool, Empty, String

from robot_learning.atomic_write import atomic_write_text
from robot_learning.paths import share_dir
from robot_learning.policies.safety import base_tilt
from robot_learning.ros.conversions import time_seconds
from robot_learning.ros.sim_to_sim import ros_environment, start_node, stop_process

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAULTS = ('joint_states_stopped', 'paused', 'joint_renamed', 'frozen_stamps',
          'non_finite_cmd_vel', 'emergency_stop')
"""Fault types, in table order."""
BRIDGE_FAULTS = ('joint_states_stopped', 'paused', 'joint_renamed', 'frozen_stamps')
"""Fault types injected through the bridge's fault topic."""
VARIANTS = {
    'before': {'stale_target': 'measured'},
    'after': {},
    'after_gains': {'command_interface': 'position_gains'},
}
"""Variant -> policy node parameters (on top of the common ones)."""
FALL_TILT = 1.0
"""[rad] a tilt above this within the window is a fall."""
WINDOW = 3.0
"""[s] simulated time observed after the fault."""
WALK_COMMAND = (0.5, 0.0, 0.0)
"""Operator command before the fault (vx [m/s], vy [m/s], yaw rate [rad/s])."""
GOAL = 1
"""Most falls in 10 runs allowed per fault type."""


class FaultOperator(Node):
    """Operator and observer: /cmd_vel, faults, e-stop, reset; ground truth, state, clock."""

    def __init__(self) -> None:
        super().__init__('fault_matrix_operator')
        self.sim_time: float | None = None
        self.state = ''
        self.reason = ''
        self.tilts: list[tuple[float, float]] = []
        """(ground-truth stamp [s], tilt [rad])."""
        self.cmd_vel = self.create_publisher(Twist, '/cmd_vel', 10)
        self.fault = self.create_publisher(String, '/sim_bridge/fault', 10)
        self.estop = self.create_publisher(Bool, '/emergency_stop', 10)
        self.reset = self.create_publisher(Empty, '/policy/reset', 10)
        self.create_subscription(Clock, '/clock', self._on_clock, 10)
        self.create_subscription(String, '/policy/safety_state', self._on_state, 10)
        self.create_subscription(Odometry, '/ground_truth', self._on_ground_truth, 100)
        self.executor_ = SingleThreadedExecutor()
        self.executor_.add_node(self)

    def _on_clock(self, message: Clock) -> None:
        self.sim_time = time_seconds(message.clock)

    def _on_state(self, message: String) -> None:
        self.state = message.data

    def _on_ground_truth(self, message: Odometry) -> None:
        q = message.pose.pose.orientation
        self.tilts.append((time_seconds(message.header.stamp),
                           base_tilt(np.array([q.w, q.x, q.y, q.z]))))

    def spin_for(self, seconds: float, command: tuple[float, float, float] | None = None,
                 until=None) -> bool:
        """Spin ``seconds`` of wall time, publishing ``command`` at 20 Hz; True once until()."""
        deadline = time.monotonic() + seconds
        next_command = 0.0
        while time.monotonic() < deadline:
            if command is not None and time.monotonic() >= next_command:
                next_command = time.monotonic() + 0.05
                twist = Twist()
                twist.linear.x, twist.linear.y, twist.angular.z = (float(v) for v in command)
                self.cmd_vel.publish(twist)
            self.executor_.spin_once(timeout_sec=0.005)
            if until is not None and until():
                return True
        return until is None

    def spin_sim(self, seconds: float, command: tuple[float, float, float] | None = None,
                 wall_limit: float = 60.0) -> None:
        """Spin until ``seconds`` of simulated time have passed (publishing ``command``)."""
        start = self.sim_time
        self.spin_for(wall_limit, command, lambda: self.sim_time - start >= seconds)


def one_run(operator: FaultOperator, fault: str, walk: float) -> dict:
    """Reset, walk, inject ``fault``, observe 3 s; return the run's record."""
    for _ in range(10):  # e-stop released, robot standing, node reset; retried if refused
        operator.estop.publish(Bool(data=False))
        operator.fault.publish(String(data='reset'))
        operator.spin_for(0.5)
        operator.reset.publish(Empty())
        if operator.spin_for(8.0, (0.0, 0.0, 0.0), lambda: operator.state == 'running'):
            break
    else:
        return {'error': f'not running after 10 resets (state {operator.state!r})'}
    operator.spin_sim(walk, WALK_COMMAND)
    fault_time = operator.sim_time
    before = [tilt for stamp, tilt in operator.tilts if stamp >= fault_time - walk]
    command = WALK_COMMAND
    if fault in BRIDGE_FAULTS:
        operator.fault.publish(String(data=fault))
    elif fault == 'emergency_stop':
        operator.estop.publish(Bool(data=True))
    else:
        command = (math.inf, 0.0, 0.0)
    operator.spin_sim(WINDOW, command)
    window = [(stamp - fault_time, tilt) for stamp, tilt in operator.tilts
              if fault_time <= stamp <= fault_time + WINDOW]
    after = [tilt for _, tilt in window]
    max_tilt = max(after) if after else math.nan
    fell_at = next((elapsed for elapsed, tilt in window if tilt > FALL_TILT), None)
    record = {'max_tilt_rad': max_tilt, 'fell': bool(max_tilt > FALL_TILT),
              'fall_after_s': fell_at,
              'state_after': operator.state, 'tilt_before_max_rad': max(before, default=math.nan),
              'samples': len(after)}
    operator.fault.publish(String(data='none'))
    operator.tilts.clear()
    return record


def run_variant(variant: str, faults: list[str], runs: int, walk: float, reality: str,
                folder: pathlib.Path, domain_id: int, extra: dict[str, str]
                ) -> dict[str, list[dict]]:
    """Start the bridge and the node of ``variant``; run every fault ``runs`` times."""
    env = ros_environment(domain_id)
    bundle = share_dir() / 'policies' / 'quadruped_flat'
    folder.mkdir(parents=True, exist_ok=True)
    processes = {
        'sim_bridge': start_node('robot_learning.ros.sim_bridge_node', {
            'reality': reality, 'driver': True, 'ground_truth_topic': '/ground_truth'},
            env, folder / 'sim_bridge.log'),
        'policy_node': start_node('robot_learning.ros.policy_node', {
            'bundle': str(bundle), 'auto_activate': True,
            **extra, **VARIANTS[variant]}, env, folder / 'policy_node.log'),
    }
    os.environ['ROS_DOMAIN_ID'] = str(domain_id)
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    results: dict[str, list[dict]] = {fault: [] for fault in faults}
    try:
        with rclpy.init():
            operator = FaultOperator()

            def started() -> bool:
                if any(process.poll() is not None for process in processes.values()):
                    raise RuntimeError(f'{variant}: a node exited at start-up; see {folder}')
                return operator.state == 'running' and operator.sim_time is not None

            if not operator.spin_for(60.0, None, started):
                raise TimeoutError(f'{variant}: the node is not running; see {folder}')
            for index in range(runs):
                for fault in faults:
                    start = time.monotonic()
                    record = one_run(operator, fault, walk)
                    record['wall_s'] = time.monotonic() - start
                    results[fault].append(record)
                    print(f'{variant:12s} {fault:22s} run {index + 1}/{runs}: '
                          + (record.get('error') or f"max tilt {record['max_tilt_rad']:.2f} rad"
                             f"{' FELL' if record['fell'] else ''}, state "
                             f"{record['state_after']}"), flush=True)
                    for name, process in processes.items():
                        if process.poll() is not None:
                            raise RuntimeError(f'{name} exited ({process.returncode}); see '
                                               f'{folder}')
            operator.destroy_node()
    finally:
        for process in processes.values():
            stop_process(process)
    return results


def falls_table(results: dict[str, dict[str, list[dict]]], faults: list[str]) -> str:
    """Markdown table: falls / valid runs per fault type and variant."""
    variants = list(results)
    lines = ['| fault | ' + ' | '.join(f'{v}: falls / runs' for v in variants) + ' |',
             '|---|' + '---|' * len(variants)]
    for fault in faults:
        cells = []
        for variant in variants:
            records = [r for r in results[variant].get(fault, []) if 'error' not in r]
            falls = sum(r['fell'] for r in records)
            cells.append(f'{falls} / {len(records)}')
        lines.append(f'| {fault} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _summary(records: list[dict]) -> dict:
    """Falls, valid runs and the per-run numbers of one fault type and variant."""
    valid = [record for record in records if 'error' not in record]
    return {'falls': sum(record['fell'] for record in valid), 'runs': len(valid),
            'errors': [record['error'] for record in records if 'error' in record],
            'max_tilt_rad': [round(record['max_tilt_rad'], 3) for record in valid],
            'fall_after_s': [None if record['fall_after_s'] is None
                             else round(record['fall_after_s'], 3) for record in valid],
            'state_after': [record['state_after'] for record in valid]}


def main() -> None:
    """Run the matrix, print the table, write the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--runs', type=int, default=10, help='runs per fault type and variant')
    parser.add_argument('--faults', nargs='+', default=list(FAULTS), choices=FAULTS)
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument('--walk', type=float, default=2.0,
                        help='simulated seconds of walking before each fault')
    parser.add_argument('--reality', default='quadruped_pybullet_nominal')
    parser.add_argument('--watchdog-periods', type=float, default=15.0,
                        help="the node's watchdog_periods: 15 (0.3 s, the sim-to-sim demo's, "
                             'for shared CPU cores) or 5 (0.1 s, the robot default)')
    parser.add_argument('--domain-id', type=int, default=88)
    parser.add_argument('--set', nargs='*', default=[], metavar='NAME=VALUE',
                        help='extra policy node parameters for every variant')
    parser.add_argument('--output', type=pathlib.Path,
                        default=ROOT / 'docs' / 'results' / 'fault_matrix.json')
    args = parser.parse_args()
    if args.runs < 1:
        parser.error(f'--runs must be at least 1, got {args.runs}')
    start = time.monotonic()
    results = {}
    logs = pathlib.Path(tempfile.mkdtemp(prefix='fault_matrix_'))
    print(f'node logs in {logs}', flush=True)
    for variant in args.variants:
        results[variant] = run_variant(variant, args.faults, args.runs, args.walk,
                                       args.reality, logs / variant, args.domain_id,
                                       {'watchdog_periods': args.watchdog_periods,
                                        **dict(item.split('=', 1) for item in args.set)})
    table = falls_table(results, args.faults)
    print(table)
    worst = {variant: max(sum(r.get('fell', False) for r in records) / max(1, len(records))
                          for records in by_fault.values())
             for variant, by_fault in results.items()}
    summary = {variant: {fault: _summary(records) for fault, records in by_fault.items()}
               for variant, by_fault in results.items()}
    report = {
        'command': 'python benchmarks/fault_matrix.py ' + ' '.join(sys.argv[1:]),
        'reality': args.reality, 'runs_per_fault': args.runs, 'walk_s': args.walk,
        'node_parameters': {'watchdog_periods': args.watchdog_periods,
                            **dict(item.split('=', 1) for item in args.set)},
        'variants': VARIANTS,
        'fall_tilt_rad': FALL_TILT, 'window_s': WINDOW, 'walk_command': list(WALK_COMMAND),
        'goal': f'<= {GOAL} fall in 10 runs per fault type',
        'worst_fall_rate': worst, 'table': table, 'results': summary,
        'wall_s': time.monotonic() - start,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.output, json.dumps(report, indent=2, default=float) + '\n')
    print(f'wrote {args.output}')


if __name__ == '__main__':
    main()
