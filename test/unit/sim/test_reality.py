# SPDX-License-Identifier: Apache-2.0
"""Reality configs: the shipped files load, their dynamics reach the engine, bad files fail."""

from __future__ import annotations

import numpy as np
import pybullet
import pytest
import yaml

from robot_learning.config import ConfigError
from robot_learning.sim.dynamics import PARAMETERS
from robot_learning.sim.reality import (available_realities, load_reality,
                                        make_reality_backend, reality_dir, RealityConfig)

REQUIRED = ('quadruped_pybullet_nominal', 'quadruped_pybullet_weak_motors',
            'quadruped_mujoco_payload')


@pytest.fixture
def build():
    backends = []

    def make(config: RealityConfig):
        backend = make_reality_backend(config)
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        backend.close()


def _write(tmp_path, **data) -> str:
    path = tmp_path / 'reality.yaml'
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _minimal(**changes) -> dict:
    data = {'name': 'test', 'robot': 'quadruped', 'backend': 'pybullet'}
    data.update(changes)
    return data


def test_required_realities_are_shipped():
    assert set(REQUIRED) <= set(available_realities())


@pytest.mark.parametrize('name', available_realities())
def test_every_reality_builds_a_one_env_backend_with_its_dynamics(name, build):
    config = load_reality(name)
    assert config.name == name
    assert config.description
    backend = build(config)
    assert backend.num_envs == 1
    assert backend.control_dt == pytest.approx(config.control_dt)
    for parameter, spec in PARAMETERS.items():
        expected = config.dynamics.get(parameter, spec.nominal)
        assert backend.dynamics[parameter][0] == pytest.approx(expected), parameter
    # Starts at the default pose, at rest, and steps to a finite state.
    state = backend.get_state()
    np.testing.assert_allclose(state.joint_pos[0], backend.robot.default_joint_pos)
    np.testing.assert_allclose(state.base_lin_vel, 0.0)
    backend.step(backend.robot.default_joint_pos[None])
    assert backend.get_state().is_finite().all()


def test_quadruped_realities_run_at_the_policy_rate():
    for name in REQUIRED:
        assert load_reality(name).control_dt == pytest.approx(0.02)


def test_weak_motors_reach_the_pybullet_engine(build):
    config = load_reality('quadruped_pybullet_weak_motors')
    assert config.backend == 'pybullet'
    assert dict(config.dynamics) == {'motor_strength': 0.8, 'action_latency': 0.01,
                                     'ground_friction': 0.6}
    backend = build(config)
    assert backend.dynamics['motor_strength'][0] == 0.8
    assert backend.dynamics['action_latency'][0] == 0.01
    assert backend.dynamics['ground_friction'][0] == 0.6
    client, body = backend.clients[0], backend.bodies[0]
    foot = backend._contact_links[0]
    assert pybullet.getDynamicsInfo(body, foot, physicsClientId=client)[1] == pytest.approx(0.6)


def test_weak_motors_give_less_torque_than_nominal(build):
    # The same joint error gives 80 % of the nominal PD torque (below the effort limits);
    # latency off, so that the new target reaches the first physics step.
    torques = []
    for name in ('quadruped_pybullet_nominal', 'quadruped_pybullet_weak_motors'):
        backend = build(load_reality(name, overrides=['dynamics.action_latency=0.0']))
        targets = backend.robot.default_joint_pos.copy()
        targets[1] += 0.2  # FL thigh: 20 N·m/rad * 0.2 rad = 4 N·m, below the limit
        backend.step(targets[None])
        torques.append(backend.substep_torque[0, 0, 1])
    assert torques[1] == pytest.approx(0.8 * torques[0], rel=1e-6)


def test_payload_reaches_the_mujoco_model(build):
    config = load_reality('quadruped_mujoco_payload')
    assert config.backend == 'mujoco'
    backend = build(config)
    assert backend.dynamics['added_base_mass'][0] == 2.0
    assert backend.dynamics['base_com_offset_x'][0] == 0.03
    base = backend.layout.base_body
    model, nominal = backend.models[0], backend.nominal_model
    assert model.body_mass[base] == pytest.approx(nominal.body_mass[base] + 2.0)
    np.testing.assert_allclose(model.body_ipos[base] - nominal.body_ipos[base], [0.03, 0, 0])


def test_unknown_reality_lists_the_available_ones():
    with pytest.raises(ConfigError, match='quadruped_pybullet_nominal'):
        load_reality('quadruped_on_the_moon')


def test_load_by_path_and_dotted_overrides():
    path = reality_dir() / 'quadruped_pybullet_weak_motors.yaml'
    config = load_reality(str(path), overrides=['dynamics.motor_strength=0.7'])
    assert config.dynamics['motor_strength'] == 0.7
    assert config.dynamics['ground_friction'] == 0.6


def test_unknown_dynamics_parameter_is_rejected(tmp_path):
    path = _write(tmp_path, **_minimal(dynamics={'motor_strenght': 0.8}))
    with pytest.raises(ConfigError, match="unknown dynamics parameter 'motor_strenght'"):
        load_reality(path)


@pytest.mark.parametrize('value, message', [
    (20.0, 'outside'), ('strong', 'must be a number'), (True, 'must be a number')])
def test_bad_dynamics_values_are_rejected(tmp_path, value, message):
    path = _write(tmp_path, **_minimal(dynamics={'motor_strength': value}))
    with pytest.raises(ConfigError, match=message):
        load_reality(path)


def test_unknown_key_and_unknown_backend_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match='unknown config key'):
        load_reality(_write(tmp_path, **_minimal(friction=0.5)))
    with pytest.raises(ConfigError, match='unknown backend'):
        load_reality(_write(tmp_path, **_minimal(backend='gazebo')))
    with pytest.raises(ConfigError, match=r'sim\.sim_step'):
        load_reality(_write(tmp_path, **_minimal(sim={'sim_step': 0.001})))


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match='not found'):
        load_reality(str(tmp_path / 'missing.yaml'))
