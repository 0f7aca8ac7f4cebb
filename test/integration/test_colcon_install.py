# SPDX-License-Identifier: Apache-2.0
"""A plain ``colcon build`` (no ``--symlink-install``) installs nodes that start and run.

The checkout is built into a temporary workspace (``ws/src/robot_learning`` links to it; build,
install and log folders in the workspace) with the colcon of this environment (colcon-core,
colcon-ros, colcon-bash: setup.py's ``dev`` extra). Then, from a folder outside the checkout and
with ``install/setup.bash`` sourced, the *installed* ``sim_bridge`` and ``policy_node`` console
scripts run the shipped bundle named relative to the installed share folder, on the private
ROS domain ``DOMAIN_ID``, until the node reports ``running``.

Which ``robot_learning`` runs: the console scripts' interpreter is this environment's Python,
which also has the checkout as an editable install. ``setup.bash`` puts the install's
site-packages on ``PYTHONPATH``, which Python searches before site-packages, and setuptools'
editable finder is appended at the *end* of ``sys.meta_path``; so the installed copy is imported
(checked below through ``robot_learning.__file__``), and it finds its data only through the
ament index, as on a robot.
"""

from __future__ import annotations

import os
import pathlib
import shlex
import signal
import subprocess
import sys
import time

import pytest

from robot_learning.paths import SHARE_ENV

pytestmark = [pytest.mark.ros, pytest.mark.slow]

DOMAIN_ID = 88
"""Private ROS domain of the installed nodes and of this process."""
ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA_FOLDERS = ('config', 'urdf', 'launch', 'policies', 'motions')
"""Repository folders a node reads at run time; all must be installed into the share folder."""
BUILD_TIMEOUT = 120.0
"""[s] colcon build of this one package (about 2 s on an idle machine)."""
RUNNING_TIMEOUT = 90.0
"""[s] for both installed nodes to start and the policy to reach 'running'."""


@pytest.fixture(scope='module')
def workspace(tmp_path_factory) -> pathlib.Path:
    """Build the checkout with colcon into a temporary workspace; return the workspace."""
    colcon = pathlib.Path(sys.executable).parent / 'colcon'
    assert colcon.exists(), f'{colcon} is missing: install the dev extra (pip install -e .[dev])'
    ws = tmp_path_factory.mktemp('colcon_ws')
    (ws / 'src').mkdir()
    (ws / 'src' / 'robot_learning').symlink_to(ROOT, target_is_directory=True)
    env = _clean_environment()
    result = subprocess.run(
        [str(colcon), '--log-base', str(ws / 'log'), 'build', '--build-base', str(ws / 'build'),
         '--install-base', str(ws / 'install'), '--base-paths', str(ws / 'src'),
         '--event-handlers', 'console_direct+'],
        cwd=ws, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, f'colcon build failed:\n{result.stdout}\n{result.stderr}'
    return ws


def _clean_environment() -> dict[str, str]:
    """Return this process's environment minus anything pointing back into the checkout."""
    env = dict(os.environ)
    for name in (SHARE_ENV, 'AMENT_PREFIX_PATH', 'PYTHONPATH', 'COLCON_PREFIX_PATH'):
        env.pop(name, None)
    env.update(ROS_DOMAIN_ID=str(DOMAIN_ID), ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
               PYTHONUNBUFFERED='1')
    return env


def _sourced(ws: pathlib.Path, command: list[str]) -> list[str]:
    """``command`` run by bash after sourcing the workspace's ``install/setup.bash``."""
    setup = ws / 'install' / 'setup.bash'
    return ['bash', '-c', f'source {shlex.quote(str(setup))} && exec {shlex.join(command)}']


def _files(folder: pathlib.Path) -> set[str]:
    """Return the files under ``folder`` (relative), as setup.py's globs see them."""
    return {str(path.relative_to(folder)) for path in folder.rglob('*') if path.is_file()
            and not any(part.startswith('.') or part == '__pycache__'
                        for part in path.relative_to(folder).parts)}


def test_plain_install_copies_every_data_folder_and_the_console_scripts(workspace):
    prefix = workspace / 'install' / 'robot_learning'
    share = prefix / 'share' / 'robot_learning'
    for folder in DATA_FOLDERS:
        assert _files(share / folder) == _files(ROOT / folder), folder
    installed = [share / 'package.xml', share / 'policies' / 'quadruped_flat' / 'contract.yaml']
    assert all(path.is_file() and not path.is_symlink() for path in installed)
    marker = prefix / 'share' / 'ament_index' / 'resource_index' / 'packages' / 'robot_learning'
    assert marker.is_file()
    for script in ('policy_node', 'sim_bridge', 'recorder', 'robot-learning'):
        assert os.access(prefix / 'lib' / 'robot_learning' / script, os.X_OK), script


def test_installed_package_is_imported_and_finds_its_share_through_the_ament_index(
        workspace, tmp_path):
    probe = ('import robot_learning, robot_learning.paths as p; '
             'print(robot_learning.__file__); print(p.share_dir())')
    result = subprocess.run(_sourced(workspace, [sys.executable, '-c', probe]), cwd=tmp_path,
                            env=_clean_environment(), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    module_file, share = result.stdout.split()[-2:]
    prefix = workspace / 'install' / 'robot_learning'
    assert pathlib.Path(module_file).is_relative_to(prefix / 'lib'), module_file
    assert pathlib.Path(share) == prefix / 'share' / 'robot_learning'


def test_installed_nodes_run_the_shipped_bundle_until_running(workspace, tmp_path, context):
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from std_msgs.msg import String

    scripts = workspace / 'install' / 'robot_learning' / 'lib' / 'robot_learning'
    commands = {
        'sim_bridge': [str(scripts / 'sim_bridge'), '--ros-args', '-p', 'lockstep:=true',
                       '-p', 'lockstep_timeout:=0.1'],
        # A bundle path relative to the installed share folder (resolve_bundle).
        'policy_node': [str(scripts / 'policy_node'), '--ros-args',
                        '-p', 'bundle:=policies/quadruped_flat', '-p', 'mode:=lockstep',
                        '-p', 'watchdog_periods:=50.0'],
    }
    env = _clean_environment()
    node = Node('colcon_install_observer', context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    states: list[str] = []
    node.create_subscription(String, '/policy/safety_state', lambda m: states.append(m.data), 10)
    processes = {}
    try:
        for name, command in commands.items():
            log = open(tmp_path / f'{name}.log', 'w', encoding='utf-8')
            processes[name] = subprocess.Popen(_sourced(workspace, command), cwd=tmp_path,
                                               env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + RUNNING_TIMEOUT
        while 'running' not in states and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
            dead = {name: p.returncode for name, p in processes.items() if p.poll() is not None}
            assert not dead, f'exited {dead}: ' + _logs(tmp_path)
    finally:
        for process in processes.values():
            _stop(process)
        node.destroy_node()
    assert 'running' in states, f'states seen {sorted(set(states))}: ' + _logs(tmp_path)
    assert 'damping' not in states


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _logs(folder: pathlib.Path) -> str:
    return '\n'.join(f'--- {path.name}\n{path.read_text()[-3000:]}'
                     for path in sorted(folder.glob('*.log')))
