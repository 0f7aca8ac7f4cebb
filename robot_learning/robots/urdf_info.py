# SPDX-License-Identifier: Apache-2.0
"""Read the kinematic facts a RobotSpec needs (joints, limits, links) from a URDF file."""

from __future__ import annotations

import dataclasses
import math
import pathlib
import xml.etree.ElementTree as ElementTree


class UrdfError(ValueError):
    """A URDF file that is missing, malformed, or lacks something the robot config names."""


@dataclasses.dataclass(frozen=True)
class UrdfJoint:
    """One movable joint as the URDF declares it."""

    name: str
    joint_type: str
    """'revolute', 'continuous' or 'prismatic'."""
    parent: str
    child: str
    lower: float
    """Position lower limit [rad or m]; -inf for continuous joints."""
    upper: float
    """Position upper limit [rad or m]; +inf for continuous joints."""
    velocity: float
    """Velocity limit [rad/s or m/s]; inf when the URDF gives none."""
    effort: float
    """Effort limit [N·m or N]; inf when the URDF gives none."""


@dataclasses.dataclass(frozen=True)
class UrdfInfo:
    """Joints and links of one URDF, in file order."""

    path: pathlib.Path
    robot_name: str
    links: tuple[str, ...]
    movable_joints: tuple[UrdfJoint, ...]
    total_mass: float
    """Sum of all link masses [kg]."""

    def joint(self, name: str) -> UrdfJoint:
        """Return the movable joint ``name``; UrdfError lists the valid names otherwise."""
        for joint in self.movable_joints:
            if joint.name == name:
                return joint
        raise UrdfError(
            f"joint '{name}' is not a movable joint of {self.path}; valid joints: "
            f"{', '.join(j.name for j in self.movable_joints)}")

    def root_link(self) -> str:
        """Return the link that is nobody's child."""
        root = ElementTree.parse(self.path).getroot()
        children = {joint.find('child').get('link') for joint in root.iter('joint')}
        roots = [link for link in self.links if link not in children]
        if len(roots) != 1:
            raise UrdfError(f'{self.path}: expected one root link, found {roots}')
        return roots[0]


def read_urdf(path: str | pathlib.Path) -> UrdfInfo:
    """Parse ``path`` and return its links and movable joints.

    Raises:
        UrdfError: the file is missing or not a URDF.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise UrdfError(f'URDF not found: {path}')
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        raise UrdfError(f'{path}: not valid XML: {error}') from error
    if root.tag != 'robot':
        raise UrdfError(f'{path}: root element is <{root.tag}>, expected <robot>')
    links = tuple(link.get('name') for link in root.findall('link'))
    total_mass = 0.0
    for link in root.findall('link'):
        mass = link.find('inertial/mass')
        if mass is not None:
            total_mass += float(mass.get('value', 0.0))
    joints = []
    for element in root.findall('joint'):
        joint_type = element.get('type')
        if joint_type not in ('revolute', 'continuous', 'prismatic'):
            continue
        limit = element.find('limit')
        lower, upper = -math.inf, math.inf
        velocity, effort = math.inf, math.inf
        if limit is not None:
            if joint_type != 'continuous':
                lower = float(limit.get('lower', -math.inf))
                upper = float(limit.get('upper', math.inf))
            velocity = float(limit.get('velocity', math.inf)) or math.inf
            effort = float(limit.get('effort', math.inf)) or math.inf
        joints.append(UrdfJoint(
            name=element.get('name'), joint_type=joint_type,
            parent=element.find('parent').get('link'), child=element.find('child').get('link'),
            lower=lower, upper=upper, velocity=velocity, effort=effort))
    return UrdfInfo(path=path, robot_name=root.get('name', ''), links=links,
                    movable_joints=tuple(joints), total_mass=total_mass)
