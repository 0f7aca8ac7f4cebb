# SPDX-License-Identifier: Apache-2.0
"""The recorder node: topics -> a rosbag2 bag (MCAP or sqlite3), written through ``rosbags``.

    recorder --ros-args -p output:=runs/bags/walk1
    recorder --ros-args --params-file config/nodes/recorder.yaml -p storage:=sqlite3

Messages are received SERIALIZED (``raw=True`` subscriptions) and written as they are: rclpy
hands over the same CDR bytes that rosbag2 stores, so nothing is decoded and any rate the
middleware delivers can be recorded. Message definitions are embedded, so ``ros2 bag play``
works on the result.

The bag (log) time of a message comes from ``stamp_source``:

- ``sent`` (default): the publisher's send time from the middleware (its system clock). Messages
  of different topics published on one machine keep their causal order (a command sent in
  response to a joint state is logged after it) however late the recorder gets to them; the
  export places header-less commands by this order (``robot_learning/data/bag_export.py``).
- ``received``: the middleware's arrival time in the recorder (what ``ros2 bag record`` logs).
  Under load, two messages arriving together can swap order across topics.
- ``clock``: the node's clock when the callback runs (sim time with ``use_sim_time``).

A zero middleware time stamp falls back to the node clock.

A topic is subscribed once a publisher of it appears in the graph (checked every
``discovery_period``), with the type from the ``types`` map or else from the graph, and with a
QoS that matches every publisher: reliable unless one publisher is best effort, transient-local
only if all publishers are. Messages published before the subscription matched are not
recorded.

Flushing and shutdown: every ``flush_period`` seconds the node flushes the bag (MCAP: closes
the pending chunk; sqlite3: commits; see ``data/bag_io.py``), so a SIGKILL loses at most the
last period; ``robot-learning bag repair`` makes such a bag readable. SIGINT and SIGTERM only
set a flag that the spin loop checks (a signal never interrupts a write), then the bag is closed
properly: summary, footer and ``metadata.yaml``. A shutdown of the rclpy context closes it too.
"""

from __future__ import annotations

import datetime
import importlib
import pathlib
import threading
from typing import Any, Callable

from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from robot_learning.data.bag_io import BagError, BagWriter, STORAGES, type_hash
from robot_learning.ros.node_main import declare_parameters, NodeProgram, run

INTERFACE_TYPES = {
    '/joint_states': 'sensor_msgs/msg/JointState',
    '/imu/data': 'sensor_msgs/msg/Imu',
    '/odom': 'nav_msgs/msg/Odometry',
    '/clock': 'rosgraph_msgs/msg/Clock',
    '/cmd_vel': 'geometry_msgs/msg/Twist',
    '/joint_commands': 'std_msgs/msg/Float64MultiArray',
    '/joint_trajectory': 'trajectory_msgs/msg/JointTrajectory',
    '/emergency_stop': 'std_msgs/msg/Bool',
    '/policy/reset': 'std_msgs/msg/Empty',
    '/policy/state': 'diagnostic_msgs/msg/DiagnosticArray',
    '/policy/safety_state': 'std_msgs/msg/String',
    '/diagnostics': 'diagnostic_msgs/msg/DiagnosticArray',
    '/robot_description': 'std_msgs/msg/String',
}
"""Topics of the robot_learning ROS interface and their types (the recorded defaults)."""

GRAPH_TYPED = ('/cmd_vel',)
"""Interface topics left out of the default ``types``: their type is a choice of the
publisher (geometry_msgs/Twist or TwistStamped), so it comes from the graph."""

STAMP_SOURCES = {'sent': 'source_timestamp', 'received': 'received_timestamp', 'clock': ''}
"""``stamp_source`` parameter values -> the MessageInfo key ('' : the node clock)."""

IGNORED_TOPICS = ('/rosout', '/parameter_events')
"""Never recorded with ``all_topics``."""

PARAMETERS: dict[str, tuple[Any, str]] = {
    'output': ('', 'bag folder to create (must not exist); empty: rosbag2_<date>-<time> in the '
                   'working directory'),
    'storage': ('mcap', f"storage plugin: {' or '.join(STORAGES)}"),
    'topics': (list(INTERFACE_TYPES), 'topics to record'),
    'all_topics': (False, 'also record every other topic that has a publisher'),
    'types': ([f'{topic}={msgtype}' for topic, msgtype in INTERFACE_TYPES.items()
               if topic not in GRAPH_TYPED],
              "'topic=pkg/msg/Type' entries; unlisted topics take their type from the graph"),
    'flush_period': (1.0, 'flush the bag this often [s]; a killed recorder loses at most this '
                          'much; 0: only at close'),
    'fsync': (False, 'also force each flush onto the disk (survives a power cut)'),
    'stamp_source': ('sent', "bag time of a message: 'sent' (publisher's send time), "
                             "'received' (arrival, as ros2 bag record) or 'clock' (node clock)"),
    'qos_depth': (100, 'queue depth of every subscription'),
    'discovery_period': (0.1, 'look for publishers of the topics this often [s]'),
}
"""Every parameter: (default, description). config/nodes/recorder.yaml repeats the defaults."""


def message_class(msgtype: str) -> type:
    """Import the rclpy message class of a 'pkg/msg/Type' name.

    Raises:
        ValueError: Malformed name, or the message package is not installed.
    """
    parts = msgtype.split('/')
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"message type '{msgtype}' is not of the form pkg/msg/Type")
    package, kind, name = parts
    try:
        return getattr(importlib.import_module(f'{package}.{kind}'), name)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"message type '{msgtype}' is not installed: {error}") from error


def parse_type_map(entries: list[str] | None) -> dict[str, str]:
    """Map topic -> type from 'topic=pkg/msg/Type' entries (empty entries are ignored).

    Raises:
        ValueError: An entry without '='.
    """
    result = {}
    for entry in entries or []:
        if not entry.strip():
            continue
        topic, separator, msgtype = entry.partition('=')
        if not separator or not topic.strip() or not msgtype.strip():
            raise ValueError(f"types entry '{entry}' is not of the form topic=pkg/msg/Type")
        result[topic.strip()] = msgtype.strip()
    return result


def default_output() -> pathlib.Path:
    """Name a new bag like ``ros2 bag record``: ``rosbag2_YYYY_MM_DD-HH_MM_SS`` (relative)."""
    return pathlib.Path(datetime.datetime.now().strftime('rosbag2_%Y_%m_%d-%H_%M_%S'))


class RecorderNode(Node):
    """Record topics into a bag; see the module docstring."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('recorder', **kwargs)
        declare_parameters(self, PARAMETERS)
        storage = str(self._param('storage'))
        if storage not in STORAGES:
            raise ValueError(f"parameter storage='{storage}' is not one of {', '.join(STORAGES)}")
        output = str(self._param('output')) or str(default_output())
        self.types = parse_type_map(self._param('types'))
        """Topic -> message type given by the ``types`` parameter."""
        self.topics = [topic for topic in (self._param('topics') or []) if topic]
        """Topics to record (more are added with ``all_topics``)."""
        self._all_topics = bool(self._param('all_topics'))
        self._depth = int(self._param('qos_depth'))
        self._fsync = bool(self._param('fsync'))
        self._stamp_key = STAMP_SOURCES.get(str(self._param('stamp_source')), '?')
        if self._stamp_key == '?':
            raise ValueError(f"parameter stamp_source='{self._param('stamp_source')}' is not "
                             f"one of {', '.join(STAMP_SOURCES)}")
        self._lock = threading.Lock()
        self._recording: dict[str, Any] = {}
        self._skipped: set[str] = set()
        self._closed_counts: dict[str, int] = {}
        self.bag = BagWriter(output, storage=storage).open()
        """The bag being written (None once closed)."""
        self.get_logger().info(
            f'recording to {self.bag.path} ({storage}); topics: {", ".join(self.topics)}'
            + (' and every other published topic' if self._all_topics else ''))
        self._discovery_timer = self.create_timer(float(self._param('discovery_period')),
                                                  self.discover)
        period = float(self._param('flush_period'))
        self._flush_timer = self.create_timer(period, self.flush) if period > 0 else None
        self.context.on_shutdown(self.close)
        self.discover()

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    @property
    def counts(self) -> dict[str, int]:
        """Messages written per topic so far."""
        return self.bag.counts if self.bag is not None else dict(self._closed_counts)

    def discover(self) -> None:
        """Subscribe to every wanted topic that has a publisher and is not subscribed yet."""
        if self.bag is None:
            return
        graph = dict(self.get_topic_names_and_types())
        wanted = list(self.topics)
        if self._all_topics:
            wanted += [topic for topic in graph if topic not in wanted
                       and topic not in IGNORED_TOPICS and not topic.startswith('/_')]
        for topic in wanted:
            if topic in self._recording or topic in self._skipped or topic not in graph:
                continue
            publishers = self.get_publishers_info_by_topic(topic)
            if not publishers:
                continue
            self._subscribe(topic, graph[topic], publishers)

    def _subscribe(self, topic: str, graph_types: list[str], publishers: list) -> None:
        msgtype = self.types.get(topic)
        if msgtype is None:
            if len(graph_types) != 1:
                self._skip(topic, f'published with several types {graph_types}; name one '
                                  'in the types parameter')
                return
            msgtype = graph_types[0]
        elif graph_types and msgtype not in graph_types:
            self.get_logger().warning(f'{topic} is published as {graph_types}, recording it '
                                      f'as {msgtype} (types parameter)')
        try:
            cls = message_class(msgtype)
            with self._lock:
                self.bag.add_topic(topic, msgtype)
        except (ValueError, BagError) as error:
            self._skip(topic, str(error))
            return
        self._check_hash(topic, msgtype, publishers)
        qos = self._qos(publishers)
        self._recording[topic] = self.create_subscription(
            cls, topic, self._writer_for(topic), qos, raw=True)
        self.get_logger().info(
            f'recording {topic} ({msgtype}, {qos.reliability.name.lower()}, '
            f'{qos.durability.name.lower()})')

    def _check_hash(self, topic: str, msgtype: str, publishers: list) -> None:
        """Warn when a publisher's type hash differs from the definition written to the bag."""
        try:
            expected = type_hash(msgtype)
        except BagError:  # not a Kilted type; nothing to compare
            return
        hashes = {str(info.topic_type_hash) for info in publishers}
        foreign = sorted(value for value in hashes
                         if value.startswith('RIHS01_') and value != expected)
        if foreign:
            self.get_logger().warning(
                f'{topic}: publishers use {msgtype} with type hash {foreign[0]}, the bag '
                f'stores the ROS 2 Kilted definition ({expected}); other tools may refuse it')

    def _skip(self, topic: str, reason: str) -> None:
        self._skipped.add(topic)
        self.get_logger().error(f'not recording {topic}: {reason}')

    def _qos(self, publishers: list) -> QoSProfile:
        """Return a subscription QoS compatible with every publisher (as ``ros2 bag record``)."""
        reliable = all(info.qos_profile.reliability == ReliabilityPolicy.RELIABLE
                       for info in publishers)
        latched = all(info.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL
                      for info in publishers)
        return QoSProfile(
            history=HistoryPolicy.KEEP_LAST, depth=self._depth,
            reliability=ReliabilityPolicy.RELIABLE if reliable else ReliabilityPolicy.BEST_EFFORT,
            durability=(DurabilityPolicy.TRANSIENT_LOCAL if latched
                        else DurabilityPolicy.VOLATILE))

    def _writer_for(self, topic: str) -> Callable[[bytes, dict], None]:
        def write(data: bytes, info: dict) -> None:
            # Middleware time stamps, not the time the executor got round to this callback:
            # ready callbacks run in subscription order, which would reorder topics.
            stamp = info.get(self._stamp_key, 0) if self._stamp_key else 0
            if not stamp:
                stamp = self.get_clock().now().nanoseconds
            with self._lock:
                if self.bag is not None:
                    self.bag.write(topic, stamp, data)
        return write

    def flush(self) -> None:
        """Make everything received so far survive a killed process."""
        with self._lock:
            if self.bag is not None:
                self.bag.flush(fsync=self._fsync)

    def close(self) -> None:
        """Close the bag (summary, footer, metadata.yaml); safe to call more than once."""
        with self._lock:
            bag, self.bag = self.bag, None
            if bag is None:
                return
            bag.close()
        counts = bag.counts
        summary = ', '.join(f'{topic} {count}' for topic, count in counts.items()) or 'nothing'
        # The logger may already be gone when the context shuts down.
        self._closed_counts = counts
        try:
            self.get_logger().info(f'closed {bag.path}: {sum(counts.values())} messages '
                                   f'({summary})')
        except Exception:  # best effort only
            pass


PROGRAM = NodeProgram(name='recorder', summary=__doc__.split('\n\n')[0],
                      parameters=PARAMETERS, create=lambda context: RecorderNode(context=context),
                      close=lambda node: node.close())
"""How ``robot_learning.ros.node_main`` runs this node: SIGINT and SIGTERM set a flag that the
spin loop checks (a signal never interrupts a write); then the bag is closed."""


def main(args: list[str] | None = None) -> int:
    """Record until SIGINT, SIGTERM or shutdown, then close the bag; ``node_main`` exit codes."""
    return run(PROGRAM, args)


if __name__ == '__main__':
    raise SystemExit(main())
