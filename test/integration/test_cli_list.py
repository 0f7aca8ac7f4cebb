# SPDX-License-Identifier: Apache-2.0
"""``robot-learning list`` and installed defaults found from any working folder."""

from __future__ import annotations

import shutil

import pytest

from robot_learning.cli import list_commands
from robot_learning.cli.main import build_parser, main
from robot_learning.paths import share_dir
from robot_learning.robots import available_robots, load_robot
from robot_learning.sim.reality import available_realities, load_reality


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch):
    """Print tables without wrapping cells."""
    monkeypatch.setattr(list_commands.CONSOLE, 'width', 250)


def _rows(out: str) -> dict[str, list[str]]:
    """Table rows of rich's output by their first cell."""
    rows = {}
    for line in out.splitlines():
        cells = [cell.strip() for cell in line.split('│')[1:-1]]
        if cells and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


def test_list_robots(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # read from the share folder, not the working folder
    assert main(['list', 'robots']) == 0
    rows = _rows(capsys.readouterr().out)
    assert set(rows) == set(available_robots())
    a1 = load_robot('a1')
    assert rows['a1'][:3] == ['quadruped', '12', f'{a1.total_mass:.2f}']


def test_list_tasks_includes_the_delta_action_task(capsys):
    assert main(['list', 'tasks']) == 0
    rows = _rows(capsys.readouterr().out)
    assert {'velocity_tracking', 'motion_tracking', 'delta_action'} <= set(rows)
    assert rows['velocity_tracking'][:2] == ['yes', 'velocity_command']
    assert 'base-velocity tracking' in rows['velocity_tracking'][2]
    assert rows['delta_action'][0] == 'no'


def test_list_realities(capsys):
    assert main(['list', 'realities']) == 0
    rows = _rows(capsys.readouterr().out)
    assert set(rows) == set(available_realities())
    reality = load_reality('quadruped_pybullet_nominal')
    assert rows['quadruped_pybullet_nominal'][:2] == [reality.robot, 'pybullet']


def test_list_bundles_reads_each_contract(capsys, tmp_path, monkeypatch):
    assert main(['list', 'bundles']) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows['quadruped_flat'][:4] == ['velocity_tracking', 'quadruped', '12', '50']
    assert rows['humanoid_motion'][:2] == ['motion_tracking', 'humanoid']
    # A share folder whose bundle is broken: listed with the reason, the others still listed.
    share = tmp_path / 'share'
    shutil.copytree(share_dir() / 'config', share / 'config')
    shutil.copytree(share_dir() / 'policies' / 'quadruped_flat', share / 'policies' / 'good')
    (share / 'policies' / 'bad').mkdir()
    (share / 'policies' / 'bad' / 'contract.yaml').write_text('version: 2\n')
    (share / 'policies' / 'not_a_bundle').mkdir()
    monkeypatch.setenv('ROBOT_LEARNING_SHARE', str(share))
    assert main(['list', 'bundles']) == 0
    rows = _rows(capsys.readouterr().out)
    assert set(rows) == {'bad', 'good'}
    assert rows['good'][:2] == ['velocity_tracking', 'quadruped']
    assert rows['bad'][0].startswith('error:')


def test_list_of_something_unknown_names_the_choices(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(['list', 'widgets'])
    assert exit_info.value.code == 2
    assert "choose from 'bundles', 'realities', 'robots', 'tasks'" in capsys.readouterr().err


def test_train_finds_its_installed_default_config_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    installed = share_dir() / 'config' / 'train' / 'quadruped_flat.yaml'
    assert build_parser().parse_args(['train']).config == str(installed)
    args = build_parser().parse_args(['train', '--config', 'config/train/humanoid_motion.yaml'])
    assert args.config == str(share_dir() / 'config' / 'train' / 'humanoid_motion.yaml')
    # A file that exists from the working folder wins over the installed one.
    (tmp_path / 'config' / 'train').mkdir(parents=True)
    (tmp_path / 'config' / 'train' / 'quadruped_flat.yaml').write_text('max_iterations: 1\n')
    assert build_parser().parse_args(['train']).config == 'config/train/quadruped_flat.yaml'


def test_train_with_a_missing_config_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(['train', '--config', 'config/train/no_such.yaml']) == 2
    err = capsys.readouterr().err
    assert 'no_such.yaml' in err and 'Traceback' not in err
    assert not list(tmp_path.iterdir())
