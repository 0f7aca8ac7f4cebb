# SPDX-License-Identifier: Apache-2.0
"""Policy-node latency and control-period jitter, with the sim bridge in another process.

For each rate (default 50 and 500 Hz) two runs of ``--duration`` seconds:

- latency: the bridge publishes the robot state at the rate on a wall-clock timer, the policy
  node runs in lock-step (one command per received /joint_states) and publishes, for every
  command, the time from receiving the state to publishing the command (``/policy/latency``,
  measured inside the node with a monotonic clock): observation, ONNX inference, safety
  layer and publish.
- jitter: the policy node runs on its own timer at the rate; this process records the arrival
  time of every command on /joint_commands (so DDS delivery jitter is included) and reports
  the period error |period - 1/rate| and missed cycles (a period longer than 1.5 / rate).

Usage: ``python benchmarks/policy_latency.py --duration 60 --rates 50 500``
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile
import time

import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import Float64, Float64MultiArray
import yaml

from robot_learning.paths import share_dir
from robot_learning.ros.sim_to_sim import ros_environment, start_node, stop_process


def reality_at_rate(rate: float, folder: pathlib.Path) -> pathlib.Path:
    """Write the nominal PyBullet quadruped reality with a control period of 1 / rate."""
    config = yaml.safe_load((share_dir() / 'config/reality/quadruped_pybullet_nominal.yaml')
                            .read_text())
    control_dt = 1.0 / rate
    decimation = max(1, round(control_dt / 0.005))
    config['name'] = f'quadruped_pybullet_{rate:g}hz'
    config['sim'] = {'sim_dt': control_dt / decimation, 'decimation': decimation,
                     'solver_iterations': 50}
    path = folder / f'reality_{rate:g}hz.yaml'
    path.write_text(yaml.safe_dump(config))
    return path


class Probe(Node):
    """Collects /policy/latency values and /joint_commands arrival times."""

    def __init__(self) -> None:
        super().__init__('latency_probe')
        self.latencies: list[float] = []
        self.arrivals: list[float] = []
        self.create_subscription(Float64, '/policy/latency', self._on_latency, 100)
        self.create_subscription(Float64MultiArray, '/joint_commands', self._on_command, 100)

    def _on_latency(self, message: Float64) -> None:
        self.latencies.append(message.data)

    def _on_command(self, message: Float64MultiArray) -> None:
        self.arrivals.append(time.perf_counter())


def measure(rate: float, mode: str, duration: float, domain_id: int,
            folder: pathlib.Path) -> Probe:
    """Run bridge + policy node for ``duration`` s (after start-up); return what was seen."""
    env = ros_environment(domain_id)
    bundle = share_dir() / 'policies' / 'quadruped_flat'
    bridge = start_node('robot_learning.ros.sim_bridge_node',
                        {'reality': str(reality_at_rate(rate, folder))}, env,
                        folder / f'bridge_{rate:g}_{mode}.log')
    policy = start_node('robot_learning.ros.policy_node', {
        'bundle': str(bundle), 'mode': mode, 'rate_hz': rate, 'publish_latency': True,
        'soft_start_duration': 0.5}, env, folder / f'policy_{rate:g}_{mode}.log')
    os.environ['ROS_DOMAIN_ID'] = str(domain_id)
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    try:
        with rclpy.init():
            probe = Probe()
            executor = SingleThreadedExecutor()
            executor.add_node(probe)
            deadline = time.monotonic() + 60.0
            while len(probe.arrivals) < 10:  # wait for start-up and discovery
                executor.spin_once(timeout_sec=0.1)
                if time.monotonic() > deadline:
                    raise TimeoutError(f'no commands at {rate} Hz; see {folder}')
            probe.latencies.clear()
            probe.arrivals.clear()
            end = time.monotonic() + duration
            while time.monotonic() < end:
                executor.spin_once(timeout_sec=0.01)
            probe.destroy_node()
    finally:
        stop_process(policy)
        stop_process(bridge)
    return probe


def percentiles(values: np.ndarray) -> dict[str, float]:
    """Return p50, p99 and max in milliseconds."""
    return {'p50_ms': float(np.percentile(values, 50) * 1e3),
            'p99_ms': float(np.percentile(values, 99) * 1e3),
            'max_ms': float(values.max() * 1e3)}


def main() -> None:
    """Measure and print latency and jitter at each rate."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--duration', type=float, default=60.0, help='seconds per run')
    parser.add_argument('--rates', type=float, nargs='+', default=[50.0, 500.0])
    parser.add_argument('--domain-id', type=int, default=91)
    parser.add_argument('--json', default=None, help='also write the figures here')
    parser.add_argument('--logs', default=None, help='keep the node logs in this folder')
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = pathlib.Path(args.logs or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for rate in args.rates:
            latency = np.asarray(measure(rate, 'lockstep', args.duration, args.domain_id,
                                         folder).latencies)
            arrivals = np.asarray(measure(rate, 'timer', args.duration, args.domain_id,
                                          folder).arrivals)
            periods = np.diff(arrivals)
            error = np.abs(periods - 1.0 / rate)
            results[f'{rate:g}Hz'] = {
                'latency': {'samples': int(latency.size), **percentiles(latency)},
                'period_error': {'samples': int(periods.size), **percentiles(error)},
                'missed_cycles': int(np.sum(periods > 1.5 / rate)),
                'commands_per_s': float(periods.size / (arrivals[-1] - arrivals[0])),
            }
            result = results[f'{rate:g}Hz']
            print(f"{rate:6g} Hz  latency p50 {result['latency']['p50_ms']:.3f} ms  "
                  f"p99 {result['latency']['p99_ms']:.3f} ms  max "
                  f"{result['latency']['max_ms']:.3f} ms | period error p50 "
                  f"{result['period_error']['p50_ms']:.3f} ms  p99 "
                  f"{result['period_error']['p99_ms']:.3f} ms  missed "
                  f"{result['missed_cycles']} of {periods.size + result['missed_cycles']}",
                  flush=True)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == '__main__':
    main()
