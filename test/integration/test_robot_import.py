# SPDX-License-Identifier: Apache-2.0
"""Bringing a robot: third-party URDFs from pybullet_data load, or fail with the fix named.

Laikago's and Mini Cheetah's URDFs (inside the pybullet wheel) have continuous joints, missing
effort and velocity limits and, for Mini Cheetah, inertias that MuJoCo refuses by default.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import yaml

from robot_learning.cli.main import main
from robot_learning.config import ConfigError
from robot_learning.paths import share_dir
from robot_learning.robots import load_robot
from robot_learning.robots.xacro_urdf import expand_xacro
from robot_learning.sim.base import SimConfig
from robot_learning.sim.mujoco_model import compile_model
from robot_learning.sim.registry import make_backend

ROBOTS = share_dir() / 'config' / 'robots'
LAIKAGO_LIMITS = ('position_lower', 'position_upper')
PENDULUM_XACRO = """<?xml version="1.0"?>
<robot name="pendulum" xmlns:xacro="http://www.ros.org/wiki/xacro">
  <xacro:property name="length" value="0.4"/>
  <xacro:macro name="segment" params="name parent">
    <joint name="${name}_joint" type="revolute">
      <parent link="${parent}"/><child link="${name}"/>
      <axis xyz="0 1 0"/><origin xyz="0 0 -${length}"/>
      <limit lower="-1.5" upper="1.5" effort="20" velocity="10"/>
    </joint>
    <link name="${name}">
      <inertial><mass value="${mass}"/>
        <inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial>
      <collision><geometry><sphere radius="0.05"/></geometry></collision>
    </link>
  </xacro:macro>
  <xacro:property name="mass" value="1.5"/>
  <link name="base"><inertial><mass value="2.0"/>
    <inertia ixx="0.01" iyy="0.01" izz="0.01" ixy="0" ixz="0" iyz="0"/></inertial></link>
  <xacro:segment name="upper" parent="base"/>
  <xacro:segment name="lower" parent="upper"/>
</robot>
"""


def _example(tmp_path: pathlib.Path, name: str, drop: tuple[str, ...] = (),
             **changes: object) -> pathlib.Path:
    """Write a copy of robot YAML ``name`` without the keys ``drop`` and with ``changes``.

    Each call writes a new file: ``load_robot`` caches robots by path.
    """
    data = yaml.safe_load((ROBOTS / f'{name}.yaml').read_text())
    for key in drop:
        del data[key]
    data.update(changes)
    path = tmp_path / f'{name}_{len(list(tmp_path.glob("*.yaml")))}.yaml'
    path.write_text(yaml.safe_dump(data, sort_keys=False))  # {regex: value}: first match wins
    return path


def _files(folder: pathlib.Path) -> set[pathlib.Path]:
    return set(folder.rglob('*'))


def test_laikago_without_position_limits_names_the_continuous_joints(tmp_path):
    path = _example(tmp_path, 'laikago', drop=LAIKAGO_LIMITS)
    with pytest.raises(ConfigError) as error:
        load_robot(str(path))
    message = str(error.value)
    assert "robot 'laikago'" in message and 'FR_hip_motor_2_chassis_joint' in message
    assert 'RL_lower_leg_2_upper_leg_joint' in message and 'continuous' in message
    assert 'position_lower and position_upper' in message


def test_infinite_or_missing_effort_and_velocity_limits_are_refused(tmp_path):
    # Mini Cheetah's URDF has no <limit> at all.
    path = _example(tmp_path, 'mini_cheetah', drop=('effort_limit',))
    with pytest.raises(ConfigError, match=r'torso_to_abduct_fr_j.*no finite effort_limit > 0.*'
                                          r'give effort_limit in the robot YAML'):
        load_robot(str(path))
    path = _example(tmp_path, 'mini_cheetah', drop=('velocity_limit',))
    with pytest.raises(ConfigError, match='no finite velocity_limit'):
        load_robot(str(path))
    path = _example(tmp_path, 'laikago', velocity_limit={'chassis': float('inf'), '.': 20.0})
    with pytest.raises(ConfigError, match=r'joints FR_hip_motor_2_chassis_joint, '
                                          r'FL_hip_motor_2_chassis_joint, RR.*velocity_limit'):
        load_robot(str(path))
    path = _example(tmp_path, 'laikago', position_upper=-1.0)
    with pytest.raises(ConfigError, match='position_lower >= position_upper'):
        load_robot(str(path))


def test_laikago_with_limits_loads_in_both_engines_and_stands(tmp_path):
    spec = load_robot(str(_example(tmp_path, 'laikago')))
    assert spec.num_joints == 12
    assert np.all(np.isfinite(spec.position_lower)) and np.all(np.isfinite(spec.position_upper))
    assert spec.position_lower[2] == pytest.approx(-2.16)  # FR knee, from the YAML
    assert spec.total_mass == pytest.approx(25.567)
    for engine in ('mujoco', 'pybullet'):
        backend = make_backend(engine, spec, 2, SimConfig(num_threads=1))
        try:
            for _ in range(25):
                backend.step(np.tile(spec.default_joint_pos, (2, 1)))
            state = backend.get_state()
        finally:
            backend.close()
        assert state.is_finite().all()
        # The PD-held default pose stands: the base stays well above the floor.
        assert np.all(state.base_pos[:, 2] > 0.25), (engine, state.base_pos[:, 2])


def test_mini_cheetah_needs_balance_inertia_in_mujoco(tmp_path):
    spec = load_robot(str(_example(tmp_path, 'mini_cheetah', balance_inertia=False)))
    with pytest.raises(ConfigError) as error:
        compile_model(spec, SimConfig())
    message = str(error.value)
    assert "robot 'mini_cheetah'" in message and "body 'thigh_fr'" in message
    assert "'balance_inertia: true'" in message and 'A + B >= C' in message

    balanced = load_robot(str(_example(tmp_path, 'mini_cheetah')))
    assert balanced.balance_inertia
    model, _ = compile_model(balanced, SimConfig())
    assert model.body_mass.sum() == pytest.approx(balanced.total_mass)
    backend = make_backend('mujoco', balanced, 1, SimConfig(num_threads=1))
    try:
        for _ in range(25):
            backend.step(balanced.default_joint_pos[None])
        assert backend.get_state().is_finite().all()
    finally:
        backend.close()


def test_a_xacro_description_is_expanded(tmp_path):
    (tmp_path / 'pendulum.urdf.xacro').write_text(PENDULUM_XACRO)
    urdf = expand_xacro(tmp_path / 'pendulum.urdf.xacro')
    assert urdf.suffix == '.urdf' and urdf == expand_xacro(tmp_path / 'pendulum.urdf.xacro')
    (tmp_path / 'pendulum.yaml').write_text(yaml.safe_dump({
        'name': 'pendulum', 'robot_class': 'arm', 'urdf': str(tmp_path / 'pendulum.urdf.xacro'),
        'floating_base': False, 'init_base_height': 1.0,
        'joint_names': ['upper_joint', 'lower_joint'], 'default_joint_pos': 0.0, 'kp': 10.0,
        'kd': 1.0, 'contact_bodies': ['lower']}))
    spec = load_robot(str(tmp_path / 'pendulum.yaml'))
    assert spec.total_mass == pytest.approx(2.0 + 2 * 1.5)  # the macro's ${mass}
    np.testing.assert_allclose(spec.position_upper, [1.5, 1.5])
    assert compile_model(spec, SimConfig())[0].nbody == 4  # world, base, upper, lower
    (tmp_path / 'broken.urdf.xacro').write_text(PENDULUM_XACRO.replace('${mass}', '${weight}'))
    with pytest.raises(ConfigError, match=r'xacro cannot expand .*broken.urdf.xacro.*weight'):
        expand_xacro(tmp_path / 'broken.urdf.xacro')


def test_robot_check_prints_joints_masses_and_contacts(capsys, monkeypatch):
    from robot_learning.cli import robot_commands
    monkeypatch.setattr(robot_commands.CONSOLE, 'width', 200)
    before = _files(share_dir() / 'config')
    assert main(['robot', 'check', 'a1']) == 0
    out = capsys.readouterr().out
    spec = load_robot('a1')
    for joint in spec.joint_names:
        assert joint in out
    assert 'link masses' in out and f'{spec.total_mass:.3f}' in out
    assert 'FL_toe' in out and 'loads in mujoco and pybullet' in out
    assert _files(share_dir() / 'config') == before


def test_robot_check_shows_the_limits_of_the_yaml(capsys, monkeypatch):
    from robot_learning.cli import robot_commands
    monkeypatch.setattr(robot_commands.CONSOLE, 'width', 200)
    assert main(['robot', 'check', 'mini_cheetah']) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if 'thigh_fr_to_knee_fr_j' in line)
    # lower, upper, velocity, effort, kp, kd, default of the knee
    cells = [cell.strip() for cell in row.split('│') if cell.strip()]
    assert cells[1:8] == ['0.300', '2.600', '30.000', '26.000', '20.000', '0.500',
                          '1.600']
    assert '(0 warnings)' in out


def test_robot_check_warns_about_a_default_pose_at_a_limit(tmp_path, capsys, monkeypatch):
    from robot_learning.cli import robot_commands
    monkeypatch.setattr(robot_commands.CONSOLE, 'width', 200)
    path = _example(tmp_path, 'a1', urdf='pybullet_data:a1/a1.urdf',
                    position_lower={'FL_hip': 0.1, 'hip': -0.8, 'upper': -1.0, 'lower': -2.6})
    assert main(['robot', 'check', str(path)]) == 0
    out = capsys.readouterr().out
    assert 'warning: default position of FL_hip_joint (0.100) is within 2%' in out
    assert '(1 warning)' in out and 'FR_hip_joint (' not in out


def test_robot_check_of_a_broken_yaml_exits_2_and_writes_nothing(tmp_path, capsys):
    path = _example(tmp_path, 'mini_cheetah', drop=('balance_inertia',))
    before = _files(tmp_path)
    assert main(['robot', 'check', str(path)]) == 2
    err = capsys.readouterr().err
    assert 'error:' in err and 'balance_inertia: true' in err and 'Traceback' not in err
    assert main(['robot', 'check', 'no_such_robot']) == 2
    assert 'registered robots: a1' in capsys.readouterr().err
    assert _files(tmp_path) == before


def test_train_with_a_bad_robot_writes_no_run_folder(tmp_path, capsys):
    path = _example(tmp_path, 'laikago', drop=LAIKAGO_LIMITS)
    run_dir = tmp_path / 'run'
    assert main(['train', f'task.robot={path}', f'run_dir={run_dir}', 'max_iterations=1',
                 'task.num_envs=2', 'torch_threads=1', 'task.sim.num_threads=1']) == 2
    assert 'position_lower and position_upper' in capsys.readouterr().err
    assert not run_dir.exists()
