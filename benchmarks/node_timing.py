# SPDX-License-Identifier: Apache-2.0
"""Policy-node timing against a driver-like robot: latency and control-period error at 50 Hz.

The sim bridge runs in driver mode (another process: the PyBullet quadruped, physics on the
wall clock, /joint_states and /imu/data at ``--driver-rate`` Hz, best effort, jitter, dropped
messages, extra joints in a shuffled order) and the policy node runs the shipped quadruped
policy on its own steady-clock timer at the contract rate (50 Hz), walking at 0.5 m/s. Measured
over ``--duration`` seconds once the node is running:

- latency: for every command, the time from the arrival of the newest input it was computed
  from (joint state, IMU or odometry) to its publication, measured inside the node
  (``/policy/latency``). On a timer this includes the wait from that arrival to the timer tick
  (uniform over one driver period, 2 ms at 500 Hz), so its p50 is about half a driver period;
- compute: the node's own part, from the cycle start (inputs read) to the publication:
  observation, ONNX inference, safety layer and publish (node diagnostics ``compute_*``);
- period error: |interval between two control cycles - 20 ms| of the node's timer (the node's
  own steady clock; its diagnostics report p50/p99/max over the window) and the same for the
  command arrivals in this process (DDS delivery included);
- missed periods: control periods without a cycle (node side) or a command (receive side).

The node's watchdog is 1 s (50 periods) here: a stall of the shared machine should show in
the figures, not end the measurement in damping.

Usage: ``python benchmarks/node_timing.py --duration 40`` (writes
``docs/results/node_timing.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import tempfile
import time

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import Float64, Float64MultiArray, String

from robot_learning.paths import share_dir
from robot_learning.ros.sim_to_sim import ros_environment, start_node, stop_process

ROOT = pathlib.Path(__file__).resolve().parents[1]


class Probe(Node):
    """Collects latencies, command arrivals, the safety state and the node's diagnostics."""

    def __init__(self) -> None:
        super().__init__('node_timing_probe')
        self.latencies: list[float] = []
        self.arrivals: list[float] = []
        self.state = ''
        self.diagnostics: dict[str, str] = {}
        self.cmd_vel = self.create_publisher(Twist, '/cmd_vel', 10)
        self.create_subscription(Float64, '/policy/latency',
                                 lambda m: self.latencies.append(m.data), 1000)
        self.create_subscription(Float64MultiArray, '/joint_commands',
                                 lambda m: self.arrivals.append(time.perf_counter()), 1000)
        self.create_subscription(String, '/policy/safety_state', self._on_state, 10)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 10)

    def _on_state(self, message: String) -> None:
        self.state = message.data

    def _on_diagnostics(self, message: DiagnosticArray) -> None:
        for status in message.status:
            self.diagnostics = {pair.key: pair.value for pair in status.values}

    def walk(self, speed: float) -> None:
        message = Twist()
        message.linear.x = speed
        self.cmd_vel.publish(message)


def percentiles_ms(values: np.ndarray) -> dict[str, float]:
    """Return p50, p99 and max in milliseconds."""
    return {'p50_ms': float(np.percentile(values, 50) * 1e3),
            'p99_ms': float(np.percentile(values, 99) * 1e3),
            'max_ms': float(values.max() * 1e3)}


def measure(args: argparse.Namespace, folder: pathlib.Path) -> dict:
    """Run the bridge and the node; return the figures of the measurement window."""
    env = ros_environment(args.domain_id)
    bundle = share_dir() / 'policies' / 'quadruped_flat'
    period = 1.0 / 50.0
    cycles = int(args.duration / period)
    bridge = start_node('robot_learning.ros.sim_bridge_node', {
        'reality': args.reality, 'driver': True, 'driver_rate_hz': args.driver_rate},
        env, folder / 'sim_bridge.log')
    policy = start_node('robot_learning.ros.policy_node', {
        'bundle': str(bundle), 'publish_latency': True, 'latency_buffer': cycles,
        'watchdog_periods': 50.0}, env, folder / 'policy_node.log')
    os.environ['ROS_DOMAIN_ID'] = str(args.domain_id)
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    try:
        with rclpy.init():
            probe = Probe()
            executor = SingleThreadedExecutor()
            executor.add_node(probe)
            deadline = time.monotonic() + 60.0
            while probe.state != 'running':
                executor.spin_once(timeout_sec=0.05)
                if time.monotonic() > deadline:
                    raise TimeoutError(f'the policy node is not running; see {folder}')
            probe.walk(args.speed)
            start = time.monotonic()
            while time.monotonic() < start + 2.0:  # settle into the gait
                executor.spin_once(timeout_sec=0.01)
            missed_before = int(probe.diagnostics.get('missed_periods', 0))
            probe.latencies.clear()
            probe.arrivals.clear()
            end = time.monotonic() + args.duration
            while time.monotonic() < end:
                executor.spin_once(timeout_sec=0.01)
                probe.walk(args.speed)
            # The next 1 Hz diagnostics cover about the window (latency_buffer = its cycles).
            count = len(probe.arrivals)
            wait = time.monotonic() + 1.1
            while time.monotonic() < wait:
                executor.spin_once(timeout_sec=0.01)
            diagnostics = dict(probe.diagnostics)
            arrivals = np.asarray(probe.arrivals[:count])
            latencies = np.asarray(probe.latencies)
            final_state = probe.state
            probe.destroy_node()
    finally:
        stop_process(policy)
        stop_process(bridge)
    intervals = np.diff(arrivals)
    summary = [line for line in (folder / 'sim_bridge.log').read_text().splitlines()
               if 'control steps' in line]
    return {
        'latency': {'samples': int(latencies.size), **percentiles_ms(latencies)},
        'period_error_node': {
            'samples': min(cycles, int(diagnostics.get('cycle_count', 0))),
            **{f'{key}_ms': float(diagnostics[f'period_error_{key}_s']) * 1e3
               for key in ('p50', 'p99', 'max') if f'period_error_{key}_s' in diagnostics}},
        'missed_periods_node': int(diagnostics.get('missed_periods', 0)) - missed_before,
        'compute_node': {f'{key}_ms': float(diagnostics[f'compute_{key}_s']) * 1e3
                         for key in ('p50', 'p99', 'max') if f'compute_{key}_s' in diagnostics},
        'period_error_received': {'samples': int(intervals.size),
                                  **percentiles_ms(np.abs(intervals - period))},
        'missed_periods_received': int(np.sum(np.maximum(
            np.round(intervals / period) - 1, 0)[intervals > 1.5 * period])),
        'state_at_end': final_state,
        'bridge_summary': summary[-1].split(']: ')[-1] if summary else '',
    }


def main() -> None:
    """Measure, print and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--duration', type=float, default=40.0, help='measured seconds')
    parser.add_argument('--driver-rate', type=float, default=500.0, help='bridge rate [Hz]')
    parser.add_argument('--reality', default='quadruped_pybullet_nominal')
    parser.add_argument('--speed', type=float, default=0.5, help='commanded vx [m/s]')
    parser.add_argument('--domain-id', type=int, default=88)
    parser.add_argument('--output', default=str(ROOT / 'docs' / 'results' / 'node_timing.json'))
    parser.add_argument('--logs', default=None, help='keep the node logs in this folder')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(args.logs or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        result = measure(args, folder)
    report = {
        'command': ' '.join(['python', 'benchmarks/node_timing.py', *sys.argv[1:]]),
        'setup': {'control_rate_hz': 50.0, 'driver_rate_hz': args.driver_rate,
                  'reality': args.reality, 'duration_s': args.duration, 'speed': args.speed,
                  'policy_mode': 'timer', 'bridge_mode': 'driver'},
        'machine': {'cpus': os.cpu_count(), 'load_average_1min': os.getloadavg()[0],
                    'python': platform.python_version()},
        **result,
    }
    latency, node = report['latency'], report['period_error_node']
    compute = report['compute_node']
    nan = float('nan')
    print(f"latency p50 {latency['p50_ms']:.3f} ms p99 {latency['p99_ms']:.3f} ms max "
          f"{latency['max_ms']:.3f} ms | compute p50 {compute.get('p50_ms', nan):.3f} ms p99 "
          f"{compute.get('p99_ms', nan):.3f} ms | node period error p50 "
          f"{node.get('p50_ms', nan):.3f} ms p99 {node.get('p99_ms', nan):.3f} ms, missed "
          f"{report['missed_periods_node']} | received period error p99 "
          f"{report['period_error_received']['p99_ms']:.3f} ms, missed "
          f"{report['missed_periods_received']} | state {report['state_at_end']}", flush=True)
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + '\n')
    print(f'wrote {output}')


if __name__ == '__main__':
    main()
