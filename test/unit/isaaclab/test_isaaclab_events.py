# SPDX-License-Identifier: Apache-2.0
"""The named dynamics parameters map onto Isaac Lab event terms (no Isaac Lab needed)."""

from __future__ import annotations

import pytest

from robot_learning.config import ConfigError
from robot_learning.isaaclab.events import (event_terms, IsaacLabMappingError,
                                            supported_parameters, UNSUPPORTED)
from robot_learning.sim.dynamics import PARAMETERS


def test_box_maps_onto_the_isaac_lab_terms_with_operations_and_modes():
    terms = event_terms({
        'link_mass_scale': (0.9, 1.1), 'added_base_mass': (-1.0, 3.0),
        'base_com_offset_x': (-0.05, 0.05), 'base_com_offset_z': (-0.01, 0.01),
        'ground_friction': (0.5, 1.25), 'armature_scale': (1.0, 1.05),
        'friction_loss': (0.0, 0.2), 'kp_scale': (0.8, 1.2), 'kd_scale': (0.5, 1.5),
        'push_velocity': (0.0, 1.0), 'push_interval': (15.0, 15.0)}, base_body='trunk')
    assert set(terms) == {'scale_link_mass', 'add_base_mass', 'base_com', 'physics_material',
                          'joint_armature', 'joint_friction', 'actuator_gains', 'push_robot'}
    mass = terms['scale_link_mass']
    assert (mass.func, mass.mode) == ('randomize_rigid_body_mass', 'startup')
    assert mass.params['operation'] == 'scale'
    assert mass.params['mass_distribution_params'] == (0.9, 1.1)
    assert mass.params['asset_cfg'] == {'name': 'robot', 'body_names': '.*'}
    added = terms['add_base_mass'].params
    assert added['operation'] == 'add' and added['asset_cfg']['body_names'] == 'trunk'
    assert added['mass_distribution_params'] == (-1.0, 3.0)
    assert terms['base_com'].params['com_range'] == {
        'x': (-0.05, 0.05), 'y': (0.0, 0.0), 'z': (-0.01, 0.01)}
    material = terms['physics_material'].params
    assert material['static_friction_range'] == material['dynamic_friction_range'] == (0.5, 1.25)
    assert material['num_buckets'] == 64
    assert terms['joint_armature'].params['operation'] == 'scale'
    assert terms['joint_friction'].params['operation'] == 'abs'
    gains = terms['actuator_gains']
    assert gains.mode == 'reset' and gains.params['operation'] == 'scale'
    assert gains.params['stiffness_distribution_params'] == (0.8, 1.2)
    assert gains.params['damping_distribution_params'] == (0.5, 1.5)
    push = terms['push_robot']
    assert (push.func, push.mode) == ('push_by_setting_velocity', 'interval')
    assert push.params['velocity_range'] == {'x': (-1.0, 1.0), 'y': (-1.0, 1.0)}
    assert push.interval_range_s == (15.0, 15.0)


@pytest.mark.parametrize('name', sorted(UNSUPPORTED))
def test_parameters_without_an_event_term_say_what_to_use(name):
    with pytest.raises(IsaacLabMappingError, match=name):
        event_terms({name: (0.0, 0.01)})


def test_every_parameter_is_either_mapped_or_explained():
    assert set(supported_parameters()) | set(UNSUPPORTED) == set(PARAMETERS)
    assert len(supported_parameters()) == 12


def test_push_needs_both_parameters_and_bounds_are_checked():
    with pytest.raises(IsaacLabMappingError, match='give both'):
        event_terms({'push_velocity': (0.0, 1.0)})
    with pytest.raises(ConfigError, match='unknown dynamics parameter'):
        event_terms({'mass': (0.9, 1.1)})
    with pytest.raises(ConfigError, match='outside'):
        event_terms({'ground_friction': (0.5, 9.0)})
