# SPDX-License-Identifier: Apache-2.0
"""The shipped reference motions of the project humanoid: keyframes -> smooth trajectories.

Each motion is a list of (time [s], {joint pattern: offset from the default pose [rad]})
keyframes, interpolated with a clamped cubic spline (zero velocity at the keyframes' ends) and
sampled at ``FPS``. The pelvis stays upright; its height and horizontal position follow from
MuJoCo forward kinematics so that the supporting foot keeps its sole on the ground and does not
slide: the horizontal base motion cancels the motion of the feet, weighted toward the lower one.

Regenerate the files with ``python -m robot_learning.motions.motions [OUTPUT_DIR]``.
"""

from __future__ import annotations

import pathlib
import re
import sys

import numpy as np
from scipy.interpolate import CubicSpline

from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.motions.motion import Motion, MOTION_DIR
from robot_learning.paths import share_dir
from robot_learning.robots.registry import load_robot
from robot_learning.robots.spec import RobotSpec

FPS = 50.0
"""Sample rate of the shipped motions [Hz] (the policy rate)."""
TRACKED_BODIES = ('pelvis', 'left_hip_roll_link', 'left_knee_link', 'left_foot',
                  'right_hip_roll_link', 'right_knee_link', 'right_foot', 'torso_link',
                  'left_shoulder_roll_link', 'left_elbow_link', 'right_shoulder_roll_link',
                  'right_elbow_link')
"""Links whose world positions the motions store and the tracking task rewards."""
FEET = ('left_foot', 'right_foot')
STANCE_BLEND = 0.01
"""Height difference of the feet [m] over which the support moves from one foot to the other."""


def _squat_depth(depth: float) -> dict[str, float]:
    """Offsets of a flat-footed squat: knee +2d, hip and ankle pitch -d each (pelvis upright)."""
    return {'hip_pitch': -depth, 'knee': 2 * depth, 'ankle_pitch': -depth}


def _weight_on(side: str, lean: float) -> dict[str, float]:
    """Offsets of both hip and ankle rolls that move the pelvis over the ``side`` foot."""
    sign = 1.0 if side == 'left' else -1.0
    return {'hip_roll': -sign * lean, 'ankle_roll': sign * lean}


def _lift(side: str, height: float, lean: float) -> dict[str, float]:
    """Offsets lifting the ``side`` knee with the weight over the other foot."""
    other = 'right' if side == 'left' else 'left'
    return {f'{side}_hip_pitch': -height, f'{side}_knee': 2 * height,
            f'{side}_ankle_pitch': -height, **_weight_on(other, lean)}


KEYFRAMES: dict[str, list[tuple[float, dict[str, float]]]] = {
    'squat': [(0.0, {}), (0.5, {}), (1.5, _squat_depth(0.35)), (2.3, {}),
              (3.1, _squat_depth(0.35)), (3.9, {}), (4.4, {})],
    'arm_swing': [(0.0, {}), (0.4, {}),
                  (1.0, {'left_shoulder_pitch': -0.8, 'right_shoulder_pitch': 0.8,
                         'elbow': 0.3}),
                  (1.8, {'left_shoulder_pitch': 0.8, 'right_shoulder_pitch': -0.8}),
                  (2.6, {'left_shoulder_pitch': -0.8, 'right_shoulder_pitch': 0.8,
                         'elbow': 0.3}),
                  (3.4, {'left_shoulder_roll': 0.8, 'right_shoulder_roll': -0.8}),
                  (4.0, {}), (4.4, {})],
    'step_in_place': [(0.0, {}), (0.4, {}),
                      (0.7, _weight_on('left', 0.1)),
                      (1.0, _lift('right', 0.3, 0.1)),
                      (1.3, _weight_on('left', 0.1)), (1.6, {}),
                      (1.9, _weight_on('right', 0.1)),
                      (2.2, _lift('left', 0.3, 0.1)),
                      (2.5, _weight_on('right', 0.1)), (2.8, {}),
                      (3.1, _weight_on('left', 0.1)),
                      (3.4, _lift('right', 0.3, 0.1)),
                      (3.7, _weight_on('left', 0.1)), (4.0, {}), (4.4, {})],
    'kick': [(0.0, {}), (0.4, {}),
             (0.9, _weight_on('left', 0.12)),
             (1.3, {**_lift('right', 0.3, 0.12), 'left_shoulder_pitch': 0.3,
                    'right_shoulder_pitch': -0.3}),
             (1.6, {**_weight_on('left', 0.12), 'right_hip_pitch': -0.55,
                    'right_knee': 0.1, 'right_ankle_pitch': 0.1,
                    'left_shoulder_pitch': 0.4, 'right_shoulder_pitch': -0.4}),
             (1.9, _lift('right', 0.3, 0.12)),
             (2.3, _weight_on('left', 0.12)), (2.8, {}), (3.2, {})],
}
"""Keyframes of every shipped motion: (time [s], {joint name regex: offset [rad]})."""


def keyframe_offsets(robot: RobotSpec, offsets: dict[str, float]) -> np.ndarray:
    """Turn {joint regex: offset} into (J,) offsets; every regex must match some joint."""
    result = np.zeros(robot.num_joints)
    for pattern, value in offsets.items():
        matched = [i for i, name in enumerate(robot.joint_names) if re.search(pattern, name)]
        if not matched:
            raise ValueError(f"keyframe joint pattern '{pattern}' matches no joint of robot "
                             f"'{robot.name}'")
        result[matched] += value
    return result


def joint_trajectory(robot: RobotSpec, keyframes: list[tuple[float, dict[str, float]]],
                     fps: float = FPS) -> np.ndarray:
    """Sample the clamped cubic spline through the keyframes: (T, J) joint positions [rad]."""
    times = np.array([time for time, _ in keyframes])
    poses = np.stack([robot.default_joint_pos + keyframe_offsets(robot, offsets)
                      for _, offsets in keyframes])
    spline = CubicSpline(times, poses, bc_type='clamped')
    samples = np.arange(int(round(times[-1] * fps)) + 1) / fps
    return np.clip(spline(samples), robot.position_lower, robot.position_upper)


def grounded_base(kinematics: BodyKinematics, joint_pos: np.ndarray,
                  sole_height: float) -> tuple[np.ndarray, np.ndarray]:
    """Return base positions (T, 3) and upright quaternions (T, 4) keeping the support foot put.

    ``sole_height`` is the height of a foot origin above the floor when its sole touches [m].
    """
    frames = joint_pos.shape[0]
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (frames, 1))
    feet = [kinematics.body_names.index(name) for name in FEET]
    local = kinematics.positions(np.zeros((frames, 3)), quat, joint_pos)[:, feet]  # (T, 2, 3)
    height = local[:, :, 2]
    weight_left = np.clip(0.5 + (height[:, 1] - height[:, 0]) / (2 * STANCE_BLEND), 0.0, 1.0)
    base = np.zeros((frames, 3))
    base[:, 2] = sole_height - height.min(axis=1)
    step = np.diff(local[:, :, :2], axis=0)  # (T-1, 2, 2) foot motion in the base frame
    weight = weight_left[1:, None]
    base[1:, :2] = -np.cumsum(weight * step[:, 0] + (1 - weight) * step[:, 1], axis=0)
    return base, quat


def make_motion(robot: RobotSpec, name: str, keyframes: list[tuple[float, dict[str, float]]],
                fps: float = FPS) -> Motion:
    """Build motion ``name`` from keyframes: joints, grounded base and tracked-body positions."""
    kinematics = BodyKinematics(robot, TRACKED_BODIES)
    default = robot.default_joint_pos[None]
    nominal_base = np.array([[0.0, 0.0, robot.init_base_height]])
    upright = np.array([[1.0, 0.0, 0.0, 0.0]])
    feet = [TRACKED_BODIES.index(foot) for foot in FEET]
    sole_height = float(kinematics.positions(nominal_base, upright, default)[0, feet, 2].min())
    joint_pos = joint_trajectory(robot, keyframes, fps)
    base_pos, base_quat = grounded_base(kinematics, joint_pos, sole_height)
    body_pos = kinematics.positions(base_pos, base_quat, joint_pos)
    return Motion(name=name, fps=fps, joint_names=robot.joint_names, joint_pos=joint_pos,
                  base_pos=base_pos, base_quat=base_quat, body_names=TRACKED_BODIES,
                  body_pos=body_pos)


def write_motions(output: pathlib.Path | None = None, robot_name: str = 'humanoid') -> list:
    """Generate every motion of KEYFRAMES into ``output`` (default: the shipped folder)."""
    robot = load_robot(robot_name)
    output = output or share_dir() / MOTION_DIR / robot_name
    return [make_motion(robot, name, keyframes).save(output / f'{name}.npz')
            for name, keyframes in KEYFRAMES.items()]


if __name__ == '__main__':
    for written in write_motions(pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else None):
        print(written)
