# SPDX-License-Identifier: Apache-2.0
"""``robot-learning robot check``: load a robot in both engines and print what they see.

``add_robot_parser(subparsers)`` registers the ``robot`` command on the main parser.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

HANDLERS = 'robot_learning.cli.robot_commands'
CONSOLE = Console()


def add_robot_parser(subparsers) -> None:
    """Register ``robot`` and its subcommand ``check`` on ``subparsers``."""
    parser = subparsers.add_parser('robot', help='inspect robot descriptions (config/robots/)')
    commands = parser.add_subparsers(dest='robot_command', required=True)
    check = commands.add_parser(
        'check', help='load a robot in MuJoCo and PyBullet; print joints, limits, masses',
        description='Resolve a robot YAML against its URDF (or .xacro), load it in MuJoCo and '
                    'PyBullet as training and evaluation do, hold the default pose for a '
                    'second, and print its joints, masses, contact bodies and warnings. Writes '
                    'nothing. Exit code 2 with the reason when the robot cannot be used.')
    check.add_argument('robot', help='registered robot name (robot-learning list robots) or '
                                     'the path of a robot YAML')
    check.set_defaults(handler=f'{HANDLERS}:run_check')


def run_check(args: argparse.Namespace) -> int:
    """``robot-learning robot check NAME|YAML``."""
    from robot_learning.sim.base import SimulationError
    from robot_learning.sim.robot_check import check_robot, HOLD_SECONDS
    try:
        report = check_robot(args.robot)
    except SimulationError as error:
        print(f'robot-learning robot check: error: {error}', file=sys.stderr)
        return 2
    spec = report.spec
    CONSOLE.print(f'[bold]{spec.name}[/bold] ({spec.robot_class}, '
                  f"{'floating' if spec.floating_base else 'fixed'} base '{spec.base_link}'): "
                  f'{spec.description}')
    CONSOLE.print(f'URDF: {spec.urdf_path}')
    joints = Table(title=f'{spec.num_joints} actuated joints (policy order)')
    for column in ('joint', 'lower [rad]', 'upper [rad]', 'velocity [rad/s]', 'effort [N·m]',
                   'kp', 'kd', 'default [rad]'):
        joints.add_column(escape(column), justify='left' if column == 'joint' else 'right')
    for i, name in enumerate(spec.joint_names):
        joints.add_row(name, *(f'{value:.3f}' for value in (
            spec.position_lower[i], spec.position_upper[i], spec.velocity_limit[i],
            spec.effort_limit[i], spec.kp[i], spec.kd[i], spec.default_joint_pos[i])))
    CONSOLE.print(joints)
    masses = Table(title=escape('link masses [kg]'))
    masses.add_column('link')
    for engine in report.engines:
        masses.add_column(engine.engine, justify='right')
    links = list(report.engines[0].link_masses)
    for link in links:
        masses.add_row(link, *(_mass(engine.link_masses.get(link)) for engine in report.engines))
    masses.add_row('[bold]total', *(f'{engine.total_mass:.3f}' for engine in report.engines))
    CONSOLE.print(masses)
    if not spec.floating_base:
        CONSOLE.print(f"(fixed base: PyBullet reports the base link '{spec.base_link}' as "
                      'massless)')
    contacts = ', '.join(f'{name}' for name in spec.contact_bodies)
    CONSOLE.print(f'contact bodies (radius {spec.contact_radius:.3f} m): {contacts}')
    for engine in report.engines:
        forces = ', '.join(f'{name} {force:.1f} N' for name, force in engine.contact_force.items())
        height = f'base height {engine.base_height:.3f} m; ' if spec.floating_base else ''
        CONSOLE.print(f'{engine.engine}: default pose held for {HOLD_SECONDS:g} s: {height}'
                      f'contact forces {forces}')
    for warning in report.warnings:
        CONSOLE.print(f'[yellow]warning:[/yellow] {escape(warning)}')
    count = len(report.warnings)
    CONSOLE.print(f'{spec.name}: loads in ' + ' and '.join(e.engine for e in report.engines)
                  + f" ({count} warning{'' if count == 1 else 's'})")
    return 0


def _mass(value: float | None) -> str:
    return '-' if value is None else f'{value:.3f}'
