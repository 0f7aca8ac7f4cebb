# SPDX-License-Identifier: Apache-2.0
"""Named dynamics parameters -> Isaac Lab event terms (pure; Isaac Lab is not imported here).

``event_terms(bounds)`` turns a randomization box ``{name: (low, high)}`` (the
``randomization.parameters`` block, ``ParameterBox.to_mapping()``) into ``EventTermSpec``
records naming the ``isaaclab.envs.mdp.events`` function, its mode and its parameters.
``to_event_cfg`` (in ``robot_learning.isaaclab.env``) builds Isaac Lab's ``EventTermCfg``
objects from them. The mapping, with Isaac Lab's operation literals (``scale``/``add``/``abs``):

===================================  ============================================  ========
parameter                            Isaac Lab term                                mode
===================================  ============================================  ========
link_mass_scale                      randomize_rigid_body_mass, all bodies, scale  startup
added_base_mass                      randomize_rigid_body_mass, base, add          startup
base_com_offset_{x,y,z}              randomize_rigid_body_com, base, com_range     startup
ground_friction                      randomize_rigid_body_material (static =       startup
                                     dynamic friction, 64 buckets)
armature_scale, friction_loss        randomize_joint_parameters (armature scale,   startup
                                     friction abs)
kp_scale, kd_scale                   randomize_actuator_gains (stiffness, damping  reset
                                     scale)
push_velocity + push_interval        push_by_setting_velocity, xy ±v, every        interval
                                     push_interval s
===================================  ============================================  ========

Parameters without an event term (``UNSUPPORTED``) raise ``IsaacLabMappingError`` naming the
Isaac Lab feature to use instead.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

from robot_learning.sim.dynamics import check_values, PARAMETERS

EVENTS_MODULE = 'isaaclab.envs.mdp.events'
"""Where Isaac Lab's event-term functions live."""

UNSUPPORTED: dict[str, str] = {
    'joint_damping': 'Isaac Lab models joint damping as the actuator PD damping: randomize '
                     'kd_scale, or set the joint damping in the articulation config',
    'motor_strength': 'Isaac Lab has no torque-scale event: fold it into kp_scale and '
                      'kd_scale (strength * (kp e - kd v) = (strength kp) e - (strength kd) v)',
    'action_latency': 'use a DelayedPDActuatorCfg with min_delay/max_delay in physics steps '
                      '(round(latency / sim.dt)) in the robot articulation config',
    'joint_position_noise': 'add noise=Gnoise(std=...) to the joint_pos ObservationTermCfg',
    'joint_velocity_noise': 'add noise=Gnoise(std=...) to the joint_vel ObservationTermCfg',
    'imu_noise': 'add noise=Gnoise(std=...) to the base_ang_vel ObservationTermCfg',
}
"""Parameter -> what to do in Isaac Lab instead (none of these is an event term)."""


class IsaacLabMappingError(ValueError):
    """A dynamics parameter that has no Isaac Lab event term."""


@dataclasses.dataclass(frozen=True)
class EventTermSpec:
    """One Isaac Lab event term, before Isaac Lab is imported."""

    func: str
    """Function name in ``isaaclab.envs.mdp.events``."""
    mode: str
    """'startup', 'reset' or 'interval'."""
    params: dict
    """Keyword arguments of the term; ``asset_cfg`` is given as ``{'name': ..., 'body_names':
    ...}`` and becomes a ``SceneEntityCfg``."""
    interval_range_s: tuple[float, float] | None = None
    """For mode 'interval': the range of the per-environment timer [s]."""


def event_terms(bounds: Mapping[str, tuple[float, float]], asset_name: str = 'robot',
                base_body: str = 'base', num_buckets: int = 64) -> dict[str, EventTermSpec]:
    """Map a randomization box onto Isaac Lab event terms.

    Args:
        bounds: ``{parameter: (low, high)}`` in the parameters' units (``sim/dynamics.py``).
        asset_name: scene entity of the robot.
        base_body: the robot's base body name (regex) in the Isaac Lab asset.
        num_buckets: material buckets for friction (PhysX allows 64,000 unique materials).

    Returns:
        ``{term name: EventTermSpec}``, ready for an ``EventCfg``.

    Raises:
        IsaacLabMappingError: a parameter without an Isaac Lab event term (the message says
            what to use instead), or a push without both its velocity and its interval.
        ConfigError: an unknown parameter name or values outside its bounds.
    """
    bounds = {name: (float(pair[0]), float(pair[1])) for name, pair in bounds.items()}
    check_values({name: list(pair) for name, pair in bounds.items()}, 'isaaclab events')
    for name in bounds:
        if name in UNSUPPORTED:
            raise IsaacLabMappingError(
                f"dynamics parameter '{name}' has no Isaac Lab event term: "
                f'{UNSUPPORTED[name]}')
    robot = {'name': asset_name, 'body_names': '.*'}
    base = {'name': asset_name, 'body_names': base_body}
    joints = {'name': asset_name, 'joint_names': '.*'}
    terms: dict[str, EventTermSpec] = {}
    if 'link_mass_scale' in bounds:
        terms['scale_link_mass'] = EventTermSpec('randomize_rigid_body_mass', 'startup', {
            'asset_cfg': robot, 'mass_distribution_params': bounds['link_mass_scale'],
            'operation': 'scale', 'recompute_inertia': True})
    if 'added_base_mass' in bounds:
        terms['add_base_mass'] = EventTermSpec('randomize_rigid_body_mass', 'startup', {
            'asset_cfg': base, 'mass_distribution_params': bounds['added_base_mass'],
            'operation': 'add', 'recompute_inertia': True})
    com = {axis: bounds.get(f'base_com_offset_{axis}') for axis in 'xyz'}
    if any(com.values()):
        terms['base_com'] = EventTermSpec('randomize_rigid_body_com', 'startup', {
            'asset_cfg': base,
            'com_range': {axis: pair or (0.0, 0.0) for axis, pair in com.items()}})
    if 'ground_friction' in bounds:
        terms['physics_material'] = EventTermSpec('randomize_rigid_body_material', 'startup', {
            'asset_cfg': robot, 'static_friction_range': bounds['ground_friction'],
            'dynamic_friction_range': bounds['ground_friction'],
            'restitution_range': (0.0, 0.0), 'num_buckets': num_buckets})
    # One operation per Isaac Lab term: the armature scales, the Coulomb friction is set.
    if 'armature_scale' in bounds:
        terms['joint_armature'] = EventTermSpec('randomize_joint_parameters', 'startup', {
            'asset_cfg': joints, 'armature_distribution_params': bounds['armature_scale'],
            'operation': 'scale'})
    if 'friction_loss' in bounds:
        terms['joint_friction'] = EventTermSpec('randomize_joint_parameters', 'startup', {
            'asset_cfg': joints, 'friction_distribution_params': bounds['friction_loss'],
            'operation': 'abs'})
    gains = {}
    if 'kp_scale' in bounds:
        gains['stiffness_distribution_params'] = bounds['kp_scale']
    if 'kd_scale' in bounds:
        gains['damping_distribution_params'] = bounds['kd_scale']
    if gains:
        terms['actuator_gains'] = EventTermSpec('randomize_actuator_gains', 'reset', {
            'asset_cfg': joints, **gains, 'operation': 'scale', 'distribution': 'uniform'})
    has_velocity, has_interval = 'push_velocity' in bounds, 'push_interval' in bounds
    if has_velocity != has_interval:
        raise IsaacLabMappingError('push_velocity and push_interval map onto one interval '
                                   'term (push_by_setting_velocity): give both')
    if has_velocity:
        speed = max(abs(v) for v in bounds['push_velocity'])
        interval = bounds['push_interval']
        if interval[0] <= 0.0:
            raise IsaacLabMappingError('push_interval must be > 0 s for an interval event; '
                                       'leave the push parameters out to disable pushes')
        terms['push_robot'] = EventTermSpec(
            'push_by_setting_velocity', 'interval',
            {'velocity_range': {'x': (-speed, speed), 'y': (-speed, speed)}},
            interval_range_s=interval)
    return terms


def supported_parameters() -> tuple[str, ...]:
    """Names of the dynamics parameters that map onto an Isaac Lab event term."""
    return tuple(name for name in PARAMETERS if name not in UNSUPPORTED)
