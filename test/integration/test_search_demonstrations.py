# SPDX-License-Identifier: Apache-2.0
"""Search demonstrations through real rosbag2 files (PoseStamped + WrenchStamped)."""

import numpy as np
import pytest

from robot_learning.data.bag_io import BagWriter, typestore
from robot_learning.ergodic_search.demonstrations import (DemonstrationError, HolePose,
                                                          load_demonstration_bag,
                                                          SyntheticDemonstrator, write_bag)
from robot_learning.ergodic_search.offsets import OffsetDistribution

HOLE = HolePose(position=np.array([0.55, 0.0, 0.2]))


def _demonstration():
    demonstrator = SyntheticDemonstrator(OffsetDistribution(scale=0.004), HOLE)
    return demonstrator.demonstrate(np.random.default_rng(0))


def test_a_bag_round_trip_keeps_the_demonstration(tmp_path):
    demo = _demonstration()
    write_bag(demo, tmp_path / 'demo')
    loaded = load_demonstration_bag(tmp_path / 'demo')
    assert loaded.frame_id == 'world'
    np.testing.assert_allclose(loaded.times, demo.times - demo.times[0], atol=1e-9)
    np.testing.assert_allclose(loaded.positions, demo.positions, atol=1e-12)
    np.testing.assert_allclose(loaded.forces, demo.forces, atol=1e-12)
    np.testing.assert_allclose(loaded.orientations, demo.orientations, atol=1e-12)


def _write(path, pose_frame: str, wrench_frame: str | None) -> None:
    """Write two poses (and two wrenches unless ``wrench_frame`` is None) at 1 and 2 s."""
    types = typestore().types
    vector, point = types['geometry_msgs/msg/Vector3'], types['geometry_msgs/msg/Point']
    pose = types['geometry_msgs/msg/Pose'](
        position=point(x=0.55, y=0.0, z=0.2),
        orientation=types['geometry_msgs/msg/Quaternion'](x=0.0, y=1.0, z=0.0, w=0.0))
    wrench = types['geometry_msgs/msg/Wrench'](force=vector(x=0.0, y=0.0, z=-8.0),
                                               torque=vector(x=0.0, y=0.0, z=0.0))
    with BagWriter(path) as bag:
        bag.add_topic('/search/pose', 'geometry_msgs/msg/PoseStamped')
        if wrench_frame is not None:
            bag.add_topic('/search/wrench', 'geometry_msgs/msg/WrenchStamped')
        for sec in (1, 2):
            def header(frame):
                return types['std_msgs/msg/Header'](
                    stamp=types['builtin_interfaces/msg/Time'](sec=sec, nanosec=0),
                    frame_id=frame)
            bag.write_message('/search/pose', sec * 10 ** 9, types[
                'geometry_msgs/msg/PoseStamped'](header=header(pose_frame), pose=pose))
            if wrench_frame is not None:
                bag.write_message('/search/wrench', sec * 10 ** 9, types[
                    'geometry_msgs/msg/WrenchStamped'](header=header(wrench_frame),
                                                       wrench=wrench))


def test_a_bag_without_wrench_data_is_refused(tmp_path):
    _write(tmp_path / 'poses_only', 'world', None)
    with pytest.raises(DemonstrationError, match=r'no wrench data: topic /search/wrench is not '
                                                 r'in the bag \(topics: /search/pose\)'):
        load_demonstration_bag(tmp_path / 'poses_only')


def test_a_wrench_in_another_frame_is_refused(tmp_path):
    _write(tmp_path / 'same_frame', 'world', 'world')
    np.testing.assert_allclose(load_demonstration_bag(tmp_path / 'same_frame').forces,
                               [[0, 0, -8.0]] * 2)
    _write(tmp_path / 'tool_wrench', 'world', 'tool0')
    with pytest.raises(DemonstrationError, match="poses are in frame 'world' but the wrench is "
                                                 "in 'tool0'"):
        load_demonstration_bag(tmp_path / 'tool_wrench')
