# SPDX-License-Identifier: Apache-2.0
"""``robot-learning list robots|tasks|realities|bundles``: what the installed package offers.

Robots, realities and bundles are read from the share folder (``robot_learning.paths``), so the
command lists the same things from any working folder; tasks come from the task registry.
"""

from __future__ import annotations

import argparse
import pathlib
from typing import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from robot_learning.config import ConfigError

CONSOLE = Console()


def add_list_parser(subparsers) -> None:
    """Register ``list`` on ``subparsers``."""
    parser = subparsers.add_parser(
        'list', help='list the registered robots, tasks, realities or shipped bundles',
        description='List what the installed package offers: robots (config/robots/), tasks '
                    '(the task registry), realities (config/reality/) or policy bundles '
                    '(policies/).')
    parser.add_argument('what', choices=sorted(LISTERS), help='what to list')
    parser.set_defaults(handler='robot_learning.cli.list_commands:run_list')


def _columns(table: Table, *names: str) -> None:
    """Add columns to ``table``; a name starting with '>' is right-aligned (numbers)."""
    for name in names:
        table.add_column(escape(name.removeprefix('>')),
                         justify='right' if name.startswith('>') else 'left')


def run_list(args: argparse.Namespace) -> int:
    """``robot-learning list WHAT``."""
    CONSOLE.print(LISTERS[args.what]())
    return 0


def robots_table() -> Table:
    """Every robot YAML of config/robots/ with its class, joint count and mass."""
    from robot_learning.robots.registry import available_robots, load_robot
    table = Table(title='robots (robot-learning robot check NAME for details)')
    _columns(table, 'name', 'class', '>joints', '>mass [kg]', 'description')
    for name in available_robots():
        try:
            spec = load_robot(name)
        except (ConfigError, ValueError) as error:
            table.add_row(name, '', '', '', f'[red]error: {escape(str(error))}')
            continue
        table.add_row(name, spec.robot_class, str(spec.num_joints), f'{spec.total_mass:.2f}',
                      escape(spec.description))
    return table


def tasks_table() -> Table:
    """Every registered task with its description."""
    import robot_learning.delta_action.env  # noqa: F401  (registers the delta_action task)
    from robot_learning.tasks.registry import TASKS
    table = Table(title='tasks (task_type of a training YAML)')
    _columns(table, 'name', 'deployable', 'operator input', 'description')
    for name in sorted(TASKS):
        spec = TASKS[name]
        table.add_row(name, 'yes' if spec.deployable else 'no', spec.operator_input,
                      escape(spec.description))
    return table


def realities_table() -> Table:
    """Every reality of config/reality/ with its robot, backend and description."""
    from robot_learning.sim.reality import available_realities, load_reality
    table = Table(title='realities (sim-to-sim "real robots": evaluate --reality, demo)')
    _columns(table, 'name', 'robot', 'backend', 'description')
    for name in available_realities():
        try:
            reality = load_reality(name)
        except (ConfigError, ValueError) as error:
            table.add_row(name, '', '', f'[red]error: {escape(str(error))}')
            continue
        table.add_row(name, reality.robot, reality.backend, escape(reality.description))
    return table


def bundle_folders() -> list[pathlib.Path]:
    """Folders under the share folder's ``policies/`` that hold a ``contract.yaml``, sorted."""
    from robot_learning.paths import share_dir
    return sorted(path.parent for path in (share_dir() / 'policies').glob('*/contract.yaml'))


def bundles_table() -> Table:
    """Every shipped policy bundle with its task, robot and control rate."""
    from robot_learning.policies.contract import load_contract
    table = Table(title='policy bundles (policies/)')
    _columns(table, 'bundle', 'task', 'robot', '>joints', '>rate [Hz]', 'path')
    for folder in bundle_folders():
        try:
            contract = load_contract(folder)
        except (ConfigError, ValueError) as error:
            table.add_row(folder.name, f'[red]error: {escape(str(error))}', '', '', '',
                          str(folder))
            continue
        table.add_row(folder.name, contract.task, contract.robot,
                      str(len(contract.joint_names)), f'{1.0 / contract.control_dt:.0f}',
                      str(folder))
    return table


LISTERS: dict[str, Callable[[], Table]] = {
    'robots': robots_table,
    'tasks': tasks_table,
    'realities': realities_table,
    'bundles': bundles_table,
}
"""``robot-learning list WHAT`` -> the function that builds its table."""
