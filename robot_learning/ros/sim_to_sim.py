# SPDX-License-Identifier: Apache-2.0
"""Sim-to-sim over real DDS: sim bridge, policy node and recorder as separate processes.

The bridge plays the "real robot" (a reality config the policy was not trained on), the
policy node drives it from the bundle, the recorder writes a rosbag2, and this process plays
the operator: it waits until the policy is running, then publishes a velocity profile on
/cmd_vel (timed by the bridge's /clock) and finally stops everything and turns the bag into a
trajectory, a tracking report and a plot.

By default the bridge runs in driver mode (``sim_bridge_node``: joint states and IMU at 500 Hz,
best effort, with jitter, dropped messages and extra joints in a shuffled order) and the policy
node on its own timer at the contract rate, as on a robot; lock-step (bridge and node) stays
selectable through ``bridge_parameters`` and ``policy_parameters`` for deterministic runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from geometry_msgs.msg import Twist, TwistStamped
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from std_msgs.msg import String
from std_srvs.srv import Trigger

from robot_learning.atomic_write import atomic_write_text
from robot_learning.ros.conversions import time_msg, time_seconds

DEFAULT_PROFILE = (
    (3.0, 0.5, 0.0, 0.0),
    (3.0, 0.8, 0.0, 0.0),
    (3.0, 0.4, 0.0, 0.6),
    (3.0, 0.3, 0.3, 0.0),
    (6.0, 0.0, 0.0, 0.0),
)
"""Velocity profile: (duration [s], vx [m/s], vy [m/s], yaw rate [rad/s]) segments. It ends
with 6 s of zero command: the standing metrics judge the last 5 s (after a 1 s settle)."""


@dataclasses.dataclass(frozen=True)
class SimToSimConfig:
    """One sim-to-sim run."""

    bundle: str
    reality: str = 'quadruped_pybullet_nominal'
    output: str = 'runs/sim_to_sim'
    profile: tuple[tuple[float, float, float, float], ...] = DEFAULT_PROFILE
    domain_id: int = int(os.environ.get('ROS_DOMAIN_ID', '42'))
    startup_timeout: float = 60.0
    """Wall-clock seconds to wait for the policy node to reach 'running'."""
    policy_parameters: dict = dataclasses.field(
        default_factory=lambda: {'watchdog_periods': 15.0})
    """Extra policy-node parameters; default: timer mode at the contract rate, as on a robot.

    The watchdog is 0.3 s instead of the robot default 0.1 s: the simulated robot shares the
    CPU cores with the policy node, the recorder and the operator, and a scheduling stall of
    the simulator is not a robot fault. ``mode: lockstep`` answers each joint state at once
    (with a bridge in lock-step or in its per-control-period real-time mode)."""
    bridge_parameters: dict = dataclasses.field(default_factory=lambda: {'driver': True})
    """Extra sim-bridge parameters; default: driver mode (the physics on the wall clock, the
    state published at 500 Hz like a robot driver).

    ``{'lockstep': True, 'lockstep_timeout': 0.1}`` makes the bridge wait for each command, so
    the run no longer depends on how the CPU cores are shared (tests use it with the node's
    ``mode: lockstep``)."""
    cmd_vel_type: str = 'twist'
    """Message of the operator's velocity commands: 'twist' or 'twist_stamped' (stamped with
    the bridge's /clock); passed on to the policy node."""


def ros_environment(domain_id: int) -> dict[str, str]:
    """Environment of the child processes: DDS on loopback, a private domain."""
    env = dict(os.environ)
    env['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    env['ROS_DOMAIN_ID'] = str(domain_id)
    env.setdefault('PYTHONUNBUFFERED', '1')
    return env


def start_node(module: str, parameters: dict, env: dict, log_path: pathlib.Path
               ) -> subprocess.Popen:
    """Start ``python -m module --ros-args -p k:=v ...`` with its output in ``log_path``."""
    arguments = [sys.executable, '-m', module, '--ros-args']
    for key, value in parameters.items():
        arguments += ['-p', f'{key}:={value}']
    log = open(log_path, 'w', encoding='utf-8')
    return subprocess.Popen(arguments, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGINT, then SIGTERM, then SIGKILL; return the exit code."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        if process.poll() is not None:
            break
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
    return process.wait()


class Operator(Node):
    """Publishes the velocity profile on /cmd_vel, timed by the simulated /clock."""

    def __init__(self, profile, stamped: bool = False) -> None:
        super().__init__('sim_to_sim_operator')
        self.profile = profile
        self.stamped = stamped
        self.sim_time = None
        self.policy_state = ''
        self.profile_start = None
        self.cmd_vel = self.create_publisher(TwistStamped if stamped else Twist, '/cmd_vel', 10)
        self.create_subscription(Clock, '/clock', self._on_clock, 10)
        self.create_subscription(String, '/policy/safety_state', self._on_state, 10)
        self.activate_client = self.create_client(Trigger, '/policy/activate')

    def _on_clock(self, message: Clock) -> None:
        self.sim_time = time_seconds(message.clock)

    def _on_state(self, message: String) -> None:
        self.policy_state = message.data

    def policy_subscribed(self) -> bool:
        """Whether the policy node's /cmd_vel subscription has been discovered."""
        return any(info.node_name == 'policy_node'
                   for info in self.get_subscriptions_info_by_topic('/cmd_vel'))

    def request_activation(self):
        """Ask the policy node to start its soft start (returns the pending future)."""
        return self.activate_client.call_async(Trigger.Request())

    def command_at(self, elapsed: float) -> tuple[float, float, float] | None:
        """Return the profile's command ``elapsed`` s after its start (None when finished)."""
        for duration, vx, vy, yaw in self.profile:
            if elapsed < duration:
                return vx, vy, yaw
            elapsed -= duration
        return None

    def publish(self, command: tuple[float, float, float]) -> None:
        """Publish one Twist (or TwistStamped, stamped with the latest /clock)."""
        twist = Twist()
        twist.linear.x, twist.linear.y, twist.angular.z = (float(v) for v in command)
        if not self.stamped:
            self.cmd_vel.publish(twist)
            return
        message = TwistStamped(twist=twist)
        message.header.stamp = time_msg(self.sim_time)
        message.header.frame_id = 'base_link'
        self.cmd_vel.publish(message)


def run_sim_to_sim(config: SimToSimConfig) -> dict:
    """Run the loop; return the report (also written to ``<output>/report.json``)."""
    from robot_learning.data.bag_export import export_bag_for_contract
    from robot_learning.policies.contract import load_contract
    from robot_learning.evaluation.tracking_report import plot_tracking, tracking_metrics

    output = pathlib.Path(config.output)
    output.mkdir(parents=True, exist_ok=True)
    bag = output / 'bag'
    if bag.exists():
        raise FileExistsError(f'{bag} exists; choose another output folder')
    env = ros_environment(config.domain_id)
    processes = {
        'sim_bridge': start_node('robot_learning.ros.sim_bridge_node',
                                 {'reality': config.reality, **config.bridge_parameters}, env,
                                 output / 'sim_bridge.log'),
        'recorder': start_node('robot_learning.ros.recorder_node', {'output': str(bag)}, env,
                               output / 'recorder.log'),
        'policy_node': start_node('robot_learning.ros.policy_node',
                                  {'bundle': str(pathlib.Path(config.bundle).resolve()),
                                   'auto_activate': False, 'cmd_vel_type': config.cmd_vel_type,
                                   **config.policy_parameters},
                                  env, output / 'policy_node.log'),
    }
    os.environ['ROS_DOMAIN_ID'] = str(config.domain_id)
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    profile_window = None
    try:
        with rclpy.init():
            operator = Operator(config.profile, stamped=config.cmd_vel_type == 'twist_stamped')
            executor = SingleThreadedExecutor()
            executor.add_node(operator)
            deadline = time.monotonic() + config.startup_timeout
            # The node waits idle until the operator is ready: its /cmd_vel subscription
            # discovered and the clock seen. Only then is it activated, and the profile starts as
            # soon as it runs. (A lock-step simulation runs several times faster than real time:
            # started by itself, the node would stand at zero command for many simulated seconds
            # while discovery completes, or the profile would play before its commands arrive.)
            pending = None
            while operator.policy_state != 'running':
                executor.spin_once(timeout_sec=0.05)
                _check_alive(processes, output)
                ready = (operator.sim_time is not None and operator.policy_subscribed()
                         and operator.activate_client.service_is_ready())
                if ready and operator.policy_state == 'idle' and (
                        pending is None or pending.done()):
                    pending = operator.request_activation()
                if time.monotonic() > deadline:
                    raise TimeoutError(f'policy node not running after {config.startup_timeout} '
                                       f's (state {operator.policy_state!r}); see {output}/*.log')
            start = operator.sim_time
            while True:
                executor.spin_once(timeout_sec=0.01)
                _check_alive(processes, output)
                command = operator.command_at(operator.sim_time - start)
                if command is None:
                    break
                operator.publish(command)
            profile_window = (start, operator.sim_time)
            operator.destroy_node()
    finally:
        for name in ('policy_node', 'sim_bridge', 'recorder'):
            stop_process(processes[name])

    contract = load_contract(config.bundle)
    trajectories, export_report = export_bag_for_contract(bag, contract, on_gap='split',
                                                          hold_targets=True)
    profile_part = profile_window_part(trajectories, *profile_window)
    report = {'bundle': str(config.bundle), 'reality': config.reality, 'bag': str(bag),
              'bridge_parameters': dict(config.bridge_parameters),
              'policy_parameters': dict(config.policy_parameters),
              'cmd_vel_type': config.cmd_vel_type,
              'profile': [list(segment) for segment in config.profile],
              'profile_window_s': list(profile_window),
              'metrics': tracking_metrics(profile_part),
              'bag_export': {key: export_report[key] for key in
                             ('ok', 'segments', 'exported_steps', 'dropped_steps')},
              'plot': str(plot_tracking(profile_part, output / 'tracking.png'))}
    profile_part.save(output / 'trajectory.npz')
    atomic_write_text(output / 'report.json', json.dumps(report, indent=2, default=_json_default))
    return report


def profile_window_part(trajectories, start: float, stop: float):
    """Return the part of the exported trajectories inside [start, stop] s (the longest)."""
    best = None
    for trajectory in trajectories:
        inside = np.flatnonzero((trajectory.time >= start) & (trajectory.time <= stop))
        if inside.size and (best is None or inside.size > len(best)):
            best = trajectory.segment(int(inside[0]), int(inside[-1]) + 1)
    if best is None:
        raise RuntimeError(f'the recorded bag has no data between {start:.2f} and {stop:.2f} s')
    return best


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _check_alive(processes: dict[str, subprocess.Popen], output: pathlib.Path) -> None:
    for name, process in processes.items():
        if process.poll() is not None:
            raise RuntimeError(f'{name} exited with code {process.returncode}; see '
                               f'{output / (name + ".log")}')
