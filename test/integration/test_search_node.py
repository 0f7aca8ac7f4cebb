# SPDX-License-Identifier: Apache-2.0
"""The search node as a separate process, driving a MuJoCo arm in this process over real DDS.

The node runs ``python -m robot_learning.ros.search_node`` in lock-step mode on the private ROS
domain ``DOMAIN_ID`` (loopback only). This process plays the robot: it simulates the
peg-in-hole task (``PegInHoleSim``, the hole at a chosen offset), publishes /joint_states,
waits for the node's /effort_commands and applies them for one control period (two physics
steps), so simulated time advances one period per command however slow the machine is.
"""

from __future__ import annotations

import os

DOMAIN_ID = 66
"""Private ROS domain of this module (node processes and this process)."""
os.environ['ROS_DOMAIN_ID'] = str(DOMAIN_ID)  # before rclpy; the context below also names it

import pathlib  # noqa: E402, I100 - after the domain is set
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import mujoco  # noqa: E402
from node_processes import stop_node  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from rclpy.qos import DurabilityPolicy, QoSProfile  # noqa: E402
from sensor_msgs.msg import JointState  # noqa: E402
from std_msgs.msg import Float64, Float64MultiArray, String  # noqa: E402
import yaml  # noqa: E402

from robot_learning.ergodic_search.distribution import ExplorationDistribution  # noqa: E402
from robot_learning.ergodic_search.force_model import ForceModel  # noqa: E402
from robot_learning.ergodic_search.learning import SearchModel  # noqa: E402
from robot_learning.ergodic_search.offsets import OffsetDistribution  # noqa: E402
from robot_learning.ergodic_search.peg_in_hole import PegInHoleSim  # noqa: E402
from robot_learning.ergodic_search.plan import PlannerConfig  # noqa: E402
from robot_learning.ergodic_search.planners import make_plan  # noqa: E402
from robot_learning.ros import conversions  # noqa: E402

pytestmark = pytest.mark.ros

ROOT = pathlib.Path(__file__).resolve().parents[2]
PERIOD = 0.004
"""[s] control period of the node (250 Hz): two 2 ms physics steps per command."""
START_TIMEOUT = 60.0
"""[s] wall time for the node process to start (imports, planning) and answer."""


def _model() -> SearchModel:
    """Return the true fixture distribution as the learned one, and a 9 N downward press."""
    distribution = ExplorationDistribution(*OffsetDistribution(scale=0.004).components())
    press = ForceModel(weights=np.array([1.0]), means=np.array([[0.0, 0.0, 0.0, 0.0, -9.0]]),
                       covariances=0.01 * np.eye(5)[None])
    return SearchModel(distribution=distribution, force_model=press)


class SimulatedArm:
    """The arm and the hole in MuJoCo, behind ROS topics; lock-step with the node."""

    def __init__(self, context, offset: np.ndarray, prefix: str) -> None:
        self.sim = PegInHoleSim()
        self.sim.reset(offset)
        self.node = Node('simulated_arm' + prefix.replace('/', '_'), context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.joint_pub = self.node.create_publisher(JointState, prefix + '/joint_states', 10)
        self.commands: list[np.ndarray] = []
        self.states: list[str] = []
        self.results: list[str] = []
        self.elapsed: list[float] = []
        latched = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
        self.node.create_subscription(Float64MultiArray, prefix + '/effort_commands',
                                      lambda m: self.commands.append(np.asarray(m.data)), 10)
        self.node.create_subscription(String, prefix + '/search/state',
                                      lambda m: self.states.append(m.data), 100)
        self.node.create_subscription(String, prefix + '/search/result',
                                      lambda m: self.results.append(m.data), latched)
        self.node.create_subscription(Float64, prefix + '/search/elapsed',
                                      lambda m: self.elapsed.append(m.data), latched)
        self.names = list(self.sim.robot.joint_names)[::-1]  # the driver's own order
        self.time = 0.0

    def publish(self) -> None:
        sim = self.sim
        position = sim.data.qpos[sim.qpos_adr][::-1]
        velocity = sim.data.qvel[sim.dofs][::-1]
        self.joint_pub.publish(conversions.joint_state_msg(
            self.time, self.names, position, velocity, np.zeros(len(self.names))))

    def run(self, wall_seconds: float, until) -> bool:
        """Publish, wait for the command, apply it for one period; True once until() holds."""
        deadline = time.monotonic() + wall_seconds
        while time.monotonic() < deadline:
            count = len(self.commands)
            self.publish()
            wait = time.monotonic() + 0.5
            while len(self.commands) == count and time.monotonic() < wait:
                self.executor.spin_once(timeout_sec=0.01)
            if len(self.commands) > count:
                sim = self.sim
                sim.data.ctrl[sim.actuators] = self.commands[-1]
                for _ in range(2):
                    mujoco.mj_step(sim.model, sim.data)
                self.time += PERIOD
            if until():
                return True
        return False

    def close(self) -> None:
        self.executor.remove_node(self.node)
        self.node.destroy_node()
        self.executor.shutdown()


def _start(tmp_path: pathlib.Path, prefix: str, duration: float) -> subprocess.Popen:
    model_path = _model().save(tmp_path / 'model.json')
    remap = {'joint_states_topic': '/joint_states', 'effort_topic': '/effort_commands',
             'state_topic': '/search/state', 'result_topic': '/search/result',
             'elapsed_topic': '/search/elapsed', 'pose_topic': '/search/pose',
             'wrench_topic': '/search/wrench', 'reset_service': '/search/reset',
             'estop_topic': '/emergency_stop'}
    parameters = [f'model:={model_path}', 'mode:=lockstep', f'rate_hz:={1 / PERIOD}',
                  f'duration:={duration}', 'soft_start_duration:=0.1',
                  'watchdog_periods:=200.0',
                  *(f'{key}:={prefix}{topic}' for key, topic in remap.items())]
    command = [sys.executable, '-m', 'robot_learning.ros.search_node', '--ros-args',
               '--params-file', str(ROOT / 'config' / 'nodes' / 'search_node.yaml'),
               '-r', f'__node:=search_node{prefix.replace("/", "_")}']
    for parameter in parameters:
        command += ['-p', parameter]
    env = {**os.environ, 'ROS_DOMAIN_ID': str(DOMAIN_ID),
           'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST', 'PYTHONUNBUFFERED': '1'}
    log = open(tmp_path / 'search_node.log', 'w', encoding='utf-8')
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def test_the_parameter_file_repeats_every_node_default():
    from robot_learning.ros.search_node import PARAMETERS
    path = ROOT / 'config' / 'nodes' / 'search_node.yaml'
    values = yaml.safe_load(path.read_text(encoding='utf-8'))['search_node']['ros__parameters']
    assert set(values) == set(PARAMETERS)
    for name, (default, _) in PARAMETERS.items():
        assert values[name] == default and type(values[name]) is type(default), name


@pytest.mark.parametrize('case', ['success', 'timeout'])
def test_the_node_searches_inserts_and_reports(context, tmp_path, case):
    plan = make_plan('ergodic', _model().distribution, PlannerConfig(duration=1.0))
    # A hole the plan passes over at 0.5 s, or one 3 cm away that no 1 s search reaches.
    offset = plan.at(0.5)[0] if case == 'success' else np.array([0.03, 0.0])
    prefix = f'/{case}'
    process = _start(tmp_path, prefix, duration=1.0)
    arm = SimulatedArm(context, offset, prefix)
    try:
        done = arm.run(START_TIMEOUT + 60.0, lambda: (bool(arm.results) and bool(arm.elapsed))
                       or process.poll() is not None)
        log = (tmp_path / 'search_node.log').read_text(encoding='utf-8')
        assert done and arm.results, (
            f'no result; states {sorted(set(arm.states))}, rc {process.poll()}:\n{log}')
        assert arm.results == [case]
        transitions = [s for i, s in enumerate(arm.states) if i == 0 or arm.states[i - 1] != s]
        assert 'soft_start' in transitions and 'searching' in transitions
        tip_depth = arm.sim.hole_position[2] - arm.sim.data.site_xpos[arm.sim.site][2]
        if case == 'success':
            assert tip_depth >= 0.008 and arm.elapsed[0] < 1.0
            assert transitions[-1] == 'succeeded'
        else:
            assert tip_depth < 0.001 and arm.elapsed[0] == pytest.approx(1.0, abs=2 * PERIOD)
            assert transitions[-1] == 'timeout'
        limit = arm.sim.robot.effort_limit
        assert all(np.all(np.abs(command) <= limit + 1e-9) for command in arm.commands)
    finally:
        arm.close()
        assert stop_node(process) == 0
