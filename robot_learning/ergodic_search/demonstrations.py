# SPDX-License-Identifier: Apache-2.0
"""Search demonstrations (pose and wrench over time) from rosbags, .npz or a SYNTHETIC source.

A demonstration holds the end-effector (peg tip) position and orientation and the force the
demonstrator applied, all expressed in one frame (``frame_id``, e.g. 'world'). Learning needs
them relative to the nominal hole: :func:`search_data` checks the frame, keeps the samples of
the search phase (tip within ``contact_height`` of the hole's surface) and rotates positions,
velocities and forces into the hole frame.

Sources:

- rosbag2 (``data/bag_io.py``): ``geometry_msgs/PoseStamped`` on the pose topic and
  ``geometry_msgs/WrenchStamped`` on the wrench topic (both with the same ``header.frame_id``);
  the wrench is interpolated onto the pose stamps.
- ``.npz``: arrays ``times`` (N,), ``positions`` (N, 3), ``forces`` (N, 3), optional
  ``orientations`` (N, 4) (w, x, y, z), and a string ``frame_id``.
- :class:`SyntheticDemonstrator`: NOT human data. A scripted stand-in for kinesthetic search
  demonstrations, used by the tests and the evaluation because no recorded human data ship with
  the project: the "human" believes the hole lies where the fixture puts it (the task's offset
  distribution, slightly widened), walks between believed spots (a batch of them at a time,
  nearest first, as a person tries the nearby likely places before crossing over) at a hand
  speed with a small circular wiggle (the rubbing motion people use to feel a hole), presses
  down harder when moving faster and pushes along the motion through the friction, with force
  noise, and stops once the peg is over the hole (within the capture width).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from robot_learning.atomic_write import atomic_open
from robot_learning.data.npz import load_npz
from robot_learning.ergodic_search.offsets import OffsetDistribution
from robot_learning.ergodic_search.sampling import nearest_neighbour_order

POSE_TOPIC = '/search/pose'
"""Default demonstration topic of geometry_msgs/PoseStamped (end-effector pose)."""
WRENCH_TOPIC = '/search/wrench'
"""Default demonstration topic of geometry_msgs/WrenchStamped (applied wrench)."""


class DemonstrationError(ValueError):
    """A demonstration that cannot be used; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class Demonstration:
    """One search demonstration; N samples, all in the frame ``frame_id``."""

    times: np.ndarray
    """(N,) [s], increasing."""
    positions: np.ndarray
    """(N, 3) end-effector (peg tip) positions [m]."""
    forces: np.ndarray
    """(N, 3) force applied by the demonstrator [N]."""
    orientations: np.ndarray
    """(N, 4) end-effector orientations (w, x, y, z)."""
    frame_id: str = 'world'
    """Frame of positions, orientations and forces."""
    source: str = ''
    """File (or 'synthetic') it came from, for messages."""

    def __post_init__(self) -> None:
        """Check shapes and finiteness; DemonstrationError names the source."""
        count = len(self.times)
        shapes = {'positions': (count, 3), 'forces': (count, 3), 'orientations': (count, 4)}
        for name, shape in shapes.items():
            if np.shape(getattr(self, name)) != shape:
                raise DemonstrationError(f'{self.source or "demonstration"}: {name} has shape '
                                         f'{np.shape(getattr(self, name))}, expected {shape}')
        if count < 2 or np.any(np.diff(self.times) <= 0):
            raise DemonstrationError(f'{self.source or "demonstration"}: needs >= 2 samples with '
                                     'increasing times')
        if not np.all(np.isfinite(self.forces)):
            raise DemonstrationError(f'{self.source or "demonstration"}: the wrench data are '
                                     'missing (non-finite forces)')

    def save(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the demonstration as ``.npz`` atomically (``.npz`` appended when missing)."""
        path = pathlib.Path(path)
        if path.suffix != '.npz':
            path = path.with_name(path.name + '.npz')
        with atomic_open(path, 'wb') as stream:
            np.savez(stream, times=self.times, positions=self.positions, forces=self.forces,
                     orientations=self.orientations, frame_id=np.array(self.frame_id))
        return path


@dataclasses.dataclass(frozen=True)
class HolePose:
    """Nominal pose of the hole: its frame in the demonstrations' frame."""

    position: np.ndarray
    """(3,) hole centre on the surface [m]."""
    yaw: float = 0.0
    """Rotation of the hole frame about the vertical [rad]."""
    frame_id: str = 'world'
    """Frame in which ``position`` and ``yaw`` are given."""


@dataclasses.dataclass(frozen=True)
class SearchData:
    """Demonstrations in the hole frame, search phase only; N samples in total."""

    positions: np.ndarray
    """(N, d) x, y [m] (and yaw [rad] when d = 3) relative to the nominal hole."""
    velocities: np.ndarray
    """(N, d) their time derivatives [m/s(, rad/s)]."""
    forces: np.ndarray
    """(N, 3) applied force in the hole frame [N]."""


def yaw_of(orientations: np.ndarray) -> np.ndarray:
    """Return the yaw of downward-tool quaternions (N, 4) (w, x, y, z) [rad].

    The inverse of :func:`yaw_quaternions`: R = R_z(yaw) R_y(pi) maps the tool x axis to
    -(cos yaw, sin yaw, 0).
    """
    w, x, y, z = np.moveaxis(np.asarray(orientations, dtype=float), -1, 0)
    return np.arctan2(-2.0 * (x * y + w * z), -(1.0 - 2.0 * (y * y + z * z)))


def yaw_quaternions(yaw: np.ndarray) -> np.ndarray:
    """Return quaternions (N, 4) (w, x, y, z) of a downward tool turned by yaw (N,) [rad].

    A tool pointing down is the rotation by pi about y (the arms' home orientation); the yaw
    turns it about the world z: q = q_z(yaw) q_y(pi) = (0, -sin(yaw/2), cos(yaw/2), 0).
    """
    half = 0.5 * np.asarray(yaw, dtype=float)
    zero = np.zeros_like(half)
    return np.stack([zero, -np.sin(half), np.cos(half), zero], axis=-1)


def search_data(demonstrations: list[Demonstration], hole: HolePose, dim: int = 2,
                contact_height: float = 0.005) -> SearchData:
    """Express the search phase of demonstrations in the hole frame.

    Args:
        demonstrations: Demonstrations in ``hole.frame_id``.
        hole: Nominal hole pose.
        dim: 2 for (x, y), 3 for (x, y, yaw).
        contact_height: Samples whose tip is higher than this above the hole surface are not
            searching (approach, retreat) and are dropped [m].

    Raises:
        DemonstrationError: A demonstration in another frame than the hole pose, or no
            search-phase samples.
    """
    if dim not in (2, 3):
        raise DemonstrationError(f'dim must be 2 or 3, got {dim}')
    cos, sin = np.cos(hole.yaw), np.sin(hole.yaw)
    rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
    positions, velocities, forces = [], [], []
    for demo in demonstrations:
        if demo.frame_id != hole.frame_id:
            raise DemonstrationError(
                f"{demo.source or 'a demonstration'} is in frame '{demo.frame_id}' but the "
                f"nominal hole pose is in '{hole.frame_id}': transform the demonstration (or "
                'give the hole pose) in one frame')
        local = (demo.positions - hole.position) @ rotation
        keep = np.abs(local[:, 2]) <= contact_height
        coordinates = local[:, :dim].copy()
        if dim == 3:
            coordinates[:, 2] = np.angle(np.exp(1j * (yaw_of(demo.orientations) - hole.yaw)))
        rates = np.gradient(coordinates, demo.times, axis=0)
        positions.append(coordinates[keep])
        velocities.append(rates[keep])
        forces.append((demo.forces @ rotation)[keep])
    if not demonstrations or sum(len(p) for p in positions) == 0:
        raise DemonstrationError(
            f'no search-phase samples: no demonstration has its tip within {contact_height} m '
            'of the hole surface')
    return SearchData(positions=np.concatenate(positions), velocities=np.concatenate(velocities),
                      forces=np.concatenate(forces))


# Files.


def load_demonstration_npz(path: str | pathlib.Path) -> Demonstration:
    """Read a demonstration ``.npz`` (see the module docstring for its arrays).

    Raises:
        FileNotFoundError: No such file.
        DemonstrationError: The file is unreadable, an array is missing (``forces``: missing
            wrench data) or malformed.
    """
    data = load_npz(path, ('times', 'positions', 'forces', 'frame_id'), 'search demonstration',
                    DemonstrationError, hint='forces (N, 3) holds the wrench data')
    times = np.asarray(data['times'], dtype=float)
    orientations = (np.asarray(data['orientations'], dtype=float)
                    if 'orientations' in data else yaw_quaternions(np.zeros(len(times))))
    return Demonstration(times=times, positions=np.asarray(data['positions'], dtype=float),
                         forces=np.asarray(data['forces'], dtype=float),
                         orientations=orientations, frame_id=str(data['frame_id']),
                         source=str(path))


def load_demonstration_bag(path: str | pathlib.Path, pose_topic: str = POSE_TOPIC,
                           wrench_topic: str = WRENCH_TOPIC) -> Demonstration:
    """Read a demonstration from a rosbag2 with PoseStamped and WrenchStamped topics.

    Raises:
        FileNotFoundError: No such bag.
        DemonstrationError: A topic is missing or has the wrong type, the two topics use
            different frames, or the wrench does not span the poses.
    """
    from robot_learning.data.bag_io import bag_info, read_messages
    info = bag_info(path)
    expected = {pose_topic: 'geometry_msgs/msg/PoseStamped',
                wrench_topic: 'geometry_msgs/msg/WrenchStamped'}
    for topic, msgtype in expected.items():
        if topic not in info.topics or info.topics[topic].message_count == 0:
            what = 'wrench data' if topic == wrench_topic else 'poses'
            raise DemonstrationError(
                f'{path}: no {what}: topic {topic} is not in the bag (topics: '
                f"{', '.join(sorted(info.topics)) or 'none'})")
        if info.topics[topic].msgtype != msgtype:
            raise DemonstrationError(f'{path}: {topic} is {info.topics[topic].msgtype}, '
                                     f'expected {msgtype}')
    stamps = {pose_topic: [], wrench_topic: []}
    values = {pose_topic: [], wrench_topic: []}
    frames = {pose_topic: set(), wrench_topic: set()}
    for item in read_messages(path, topics=list(expected)):
        header = item.message.header
        stamps[item.topic].append(header.stamp.sec + 1e-9 * header.stamp.nanosec)
        frames[item.topic].add(header.frame_id)
        if item.topic == pose_topic:
            p, q = item.message.pose.position, item.message.pose.orientation
            values[item.topic].append([p.x, p.y, p.z, q.w, q.x, q.y, q.z])
        else:
            f = item.message.wrench.force
            values[item.topic].append([f.x, f.y, f.z])
    for topic, names in frames.items():
        if len(names) != 1:
            raise DemonstrationError(f'{path}: {topic} uses several frames {sorted(names)}')
    pose_frame, wrench_frame = frames[pose_topic].pop(), frames[wrench_topic].pop()
    if pose_frame != wrench_frame:
        raise DemonstrationError(
            f"{path}: poses are in frame '{pose_frame}' but the wrench is in '{wrench_frame}'; "
            'record the wrench in the pose frame (as a Cartesian impedance driver reports it)')
    pose_times = np.asarray(stamps[pose_topic])
    order = np.argsort(pose_times)
    pose_times, poses = pose_times[order], np.asarray(values[pose_topic])[order]
    wrench_times = np.asarray(stamps[wrench_topic])
    wrench_order = np.argsort(wrench_times)
    wrench_times = wrench_times[wrench_order]
    wrenches = np.asarray(values[wrench_topic])[wrench_order]
    tolerance = 0.05
    if (wrench_times[0] > pose_times[0] + tolerance
            or wrench_times[-1] < pose_times[-1] - tolerance):
        raise DemonstrationError(
            f'{path}: the wrench data ({wrench_times[0]:.3f}-{wrench_times[-1]:.3f} s) do not '
            f'span the poses ({pose_times[0]:.3f}-{pose_times[-1]:.3f} s)')
    forces = np.stack([np.interp(pose_times, wrench_times, wrenches[:, i]) for i in range(3)],
                      axis=1)
    return Demonstration(times=pose_times - pose_times[0], positions=poses[:, :3], forces=forces,
                         orientations=poses[:, 3:], frame_id=pose_frame, source=str(path))


def write_bag(demonstration: Demonstration, path: str | pathlib.Path,
              pose_topic: str = POSE_TOPIC, wrench_topic: str = WRENCH_TOPIC) -> None:
    """Write a demonstration as a rosbag2 (MCAP) with PoseStamped and WrenchStamped topics."""
    from robot_learning.data.bag_io import BagWriter, typestore
    types = typestore().types
    header_type, time_type = types['std_msgs/msg/Header'], types['builtin_interfaces/msg/Time']
    point, quaternion = types['geometry_msgs/msg/Point'], types['geometry_msgs/msg/Quaternion']
    vector = types['geometry_msgs/msg/Vector3']
    with BagWriter(path) as bag:
        bag.add_topic(pose_topic, 'geometry_msgs/msg/PoseStamped')
        bag.add_topic(wrench_topic, 'geometry_msgs/msg/WrenchStamped')
        for t, p, q, f in zip(demonstration.times, demonstration.positions,
                              demonstration.orientations, demonstration.forces):
            stamp_ns = int(round((1.0 + t) * 1e9))
            header = header_type(stamp=time_type(sec=stamp_ns // 10**9,
                                                 nanosec=stamp_ns % 10**9),
                                 frame_id=demonstration.frame_id)
            pose = types['geometry_msgs/msg/Pose'](
                position=point(x=p[0], y=p[1], z=p[2]),
                orientation=quaternion(x=q[1], y=q[2], z=q[3], w=q[0]))
            bag.write_message(pose_topic, stamp_ns,
                              types['geometry_msgs/msg/PoseStamped'](header=header, pose=pose))
            wrench = types['geometry_msgs/msg/Wrench'](
                force=vector(x=f[0], y=f[1], z=f[2]), torque=vector(x=0.0, y=0.0, z=0.0))
            bag.write_message(wrench_topic, stamp_ns,
                              types['geometry_msgs/msg/WrenchStamped'](header=header,
                                                                       wrench=wrench))


def load_pose_wrench_demonstrations(paths: list[str | pathlib.Path],
                                    pose_topic: str = POSE_TOPIC,
                                    wrench_topic: str = WRENCH_TOPIC) -> list[Demonstration]:
    """Load pose-and-wrench search demonstrations: ``.npz`` files directly, else rosbag2s."""
    return [load_demonstration_npz(path) if str(path).endswith('.npz')
            else load_demonstration_bag(path, pose_topic, wrench_topic) for path in paths]


# The synthetic demonstrator.


@dataclasses.dataclass(frozen=True)
class SyntheticDemonstratorConfig:
    """The scripted, human-like search demonstrator (SYNTHETIC data; see the module docstring)."""

    speed: float = 0.015
    """Hand speed between believed spots [m/s]."""
    belief_widening: float = 1.2
    """The demonstrator's belief: the offset distribution with standard deviations times this."""
    spot_batch: int = 16
    """Believed spots visited nearest first, this many at a time (1: in the order drawn)."""
    wiggle_radius: float = 0.0008
    """Radius of the circular rubbing motion [m]."""
    wiggle_frequency: float = 2.0
    """Turns of the rubbing motion per second [Hz]."""
    yaw_wiggle: float = 0.03
    """Amplitude of the wrist rotation while rubbing (3-D task) [rad]."""
    capture_width: float = 0.0015
    """The peg drops in once within this distance of the hole centre in x and y [m]."""
    yaw_capture: float = 0.05
    """... and within this yaw of the socket (3-D task) [rad]."""
    normal_force: float = 8.0
    """Downward force at rest [N]."""
    normal_force_per_speed: float = 150.0
    """Extra downward force per unit speed [N/(m/s)]."""
    lateral_force: float = 2.5
    """Force along the motion that pushes through the friction once moving (Coulomb-like,
    smoothed by tanh(speed / lateral_speed_scale)) [N]."""
    lateral_speed_scale: float = 0.003
    """Speed at which the Coulomb-like push reaches 76% of ``lateral_force`` [m/s]."""
    lateral_force_per_speed: float = 60.0
    """Further force along the motion per unit speed [N/(m/s)]."""
    force_noise: float = 0.4
    """Standard deviation of the force noise [N]."""
    rate: float = 100.0
    """Sample rate [Hz]."""
    max_duration: float = 40.0
    """Longest demonstration [s]."""
    insertion_depth: float = 0.01
    """Depth the peg is pushed to after the hole is found [m]."""


class SyntheticDemonstrator:
    """Generate SYNTHETIC human-like search demonstrations (not recorded human data)."""

    def __init__(self, offsets: OffsetDistribution, hole: HolePose,
                 config: SyntheticDemonstratorConfig = SyntheticDemonstratorConfig()) -> None:
        """Set up the demonstrator for holes offset by ``offsets`` from the nominal ``hole``."""
        self.offsets = offsets
        self.hole = hole
        self.config = config
        self.belief = offsets.widened(config.belief_widening)

    def demonstrate(self, rng: np.random.Generator,
                    offset: np.ndarray | None = None) -> Demonstration:
        """Return one demonstration toward a hole at ``offset`` (d,) (drawn when None)."""
        config = self.config
        dim = self.offsets.dim
        offset = self.offsets.sample(1, rng)[0] if offset is None else np.asarray(offset)
        dt = 1.0 / config.rate
        count = int(config.max_duration * config.rate)
        times = np.arange(count) * dt
        spots = self.belief.sample(count // 10 + 2, rng)
        spots[0] = 0.0
        for begin in range(1, len(spots), config.spot_batch):
            batch = spots[begin:begin + config.spot_batch]
            spots[begin:begin + len(batch)] = batch[nearest_neighbour_order(batch,
                                                                            spots[begin - 1])]
        # Walk spot to spot at hand speed (constant speed along straight segments).
        segment = np.linalg.norm(np.diff(spots[:, :2], axis=0), axis=1)
        arc = np.concatenate(([0.0], np.cumsum(segment)))
        travelled = np.minimum(times * config.speed, arc[-1])
        path = np.stack([np.interp(travelled, arc, spots[:, i]) for i in range(dim)], axis=1)
        phase = 2.0 * np.pi * config.wiggle_frequency * times + rng.uniform(0.0, 2.0 * np.pi)
        path[:, 0] += config.wiggle_radius * np.cos(phase)
        path[:, 1] += config.wiggle_radius * np.sin(phase)
        if dim == 3:
            path[:, 2] += config.yaw_wiggle * np.sin(0.5 * phase)
        inside = np.all(np.abs(path[:, :2] - offset[:2]) < config.capture_width, axis=1)
        if dim == 3:
            inside &= np.abs(path[:, 2] - offset[2]) < config.yaw_capture
        found = int(np.argmax(inside)) if np.any(inside) else count - 1
        path = path[:found + 1]
        times = times[:found + 1]
        depth = np.zeros(len(path))
        if np.any(inside):  # drop in over 0.3 s
            extra = int(0.3 * config.rate)
            path = np.vstack([path, np.repeat(path[-1:], extra, axis=0)])
            times = np.arange(len(path)) * dt
            depth = np.concatenate([np.zeros(found + 1),
                                    np.linspace(0.0, config.insertion_depth, extra)])
        velocity = np.gradient(path, dt, axis=0)
        speed = np.linalg.norm(velocity[:, :2], axis=1)
        forces = np.zeros((len(path), 3))
        direction = velocity[:, :2] / np.maximum(speed, 1e-9)[:, None]
        push = (config.lateral_force * np.tanh(speed / config.lateral_speed_scale)
                + config.lateral_force_per_speed * speed)
        forces[:, :2] = push[:, None] * direction
        forces[:, 2] = -(config.normal_force + config.normal_force_per_speed * speed)
        forces += config.force_noise * rng.standard_normal(forces.shape)
        hole = self.hole
        cos, sin = np.cos(hole.yaw), np.sin(hole.yaw)
        rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
        local = np.column_stack([path[:, :2], -depth])
        yaw = hole.yaw + (path[:, 2] if dim == 3 else 0.0)
        return Demonstration(
            times=times, positions=hole.position + local @ rotation.T,
            forces=forces @ rotation.T, orientations=yaw_quaternions(yaw * np.ones(len(path))),
            frame_id=hole.frame_id, source='synthetic')
