# SPDX-License-Identifier: Apache-2.0
"""The safety state machine, transition by transition, with hand-checked numbers.

Two joints 'a' and 'b': limits [-1, 1] and [-2, 2] rad, speed limits 10 and 5 rad/s, default
pose (0.5, -1.0). Config: dt 0.1 s, 0.4 s soft start (4 periods), watchdog 2 periods (0.2 s),
margin 0.1 rad (targets in [-0.9, 0.9] x [-1.9, 1.9]), velocity factor 1.5 (15, 7.5 rad/s),
tilt 0.5 rad, rate 2 rad/s (0.2 rad per period).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from robot_learning.policies.safety import (base_tilt, Fault, InputFreshness, rate_limit,
                                            SafetyConfig, SafetyInputs, SafetyLayer, SafetyState)

CONFIG = SafetyConfig(control_dt=0.1, soft_start_duration=0.4, watchdog_periods=2.0,
                      position_margin=0.1, velocity_factor=1.5, max_tilt=0.5, max_target_rate=2.0)
DEFAULT = np.array([0.5, -1.0])
UPRIGHT = np.array([1.0, 0.0, 0.0, 0.0])


def _build_layer(check_tilt: bool = True, **overrides) -> SafetyLayer:
    config = dataclasses.replace(CONFIG, **overrides)
    return SafetyLayer(config, joint_names=('a', 'b'), default_joint_pos=DEFAULT,
                       position_lower=np.array([-1.0, -2.0]),
                       position_upper=np.array([1.0, 2.0]),
                       velocity_limit=np.array([10.0, 5.0]), check_tilt=check_tilt)


def _inputs(pos=DEFAULT, vel=(0.0, 0.0), quat=UPRIGHT, ages=None, finite=None) -> SafetyInputs:
    return SafetyInputs(joint_pos=np.asarray(pos, dtype=float),
                        joint_vel=np.asarray(vel, dtype=float), base_quat=quat,
                        input_ages=ages or {'joint_states': 0.0, 'imu': 0.0},
                        finite=finite or {})


def _quat_about_x(angle: float) -> np.ndarray:
    return np.array([math.cos(angle / 2), math.sin(angle / 2), 0.0, 0.0])


def _running_layer(**overrides) -> SafetyLayer:
    """Return a layer soft-started from the default pose, RUNNING with target DEFAULT."""
    layer = _build_layer(**overrides)
    assert layer.activate(DEFAULT)
    for _ in range(layer.config.soft_start_periods):
        layer.step(_inputs())
    assert layer.state == SafetyState.RUNNING
    np.testing.assert_allclose(layer.last_target, DEFAULT)
    return layer


def test_idle_commands_nothing_and_ignores_faults():
    layer = _build_layer()
    assert layer.state == SafetyState.IDLE
    assert layer.step(_inputs(pos=(np.nan, 5.0), ages={'joint_states': 9.0})) is None
    assert layer.state == SafetyState.IDLE and layer.last_fault is None


def test_soft_start_interpolates_linearly_then_runs():
    layer = _build_layer()
    assert layer.activate(np.array([0.1, -0.2]))
    assert layer.state == SafetyState.SOFT_START
    expected = [(0.2, -0.4), (0.3, -0.6), (0.4, -0.8), (0.5, -1.0)]
    for k, target in enumerate(expected, start=1):
        np.testing.assert_allclose(layer.step(_inputs(pos=(0.1, -0.2))), target, atol=1e-12)
        assert layer.state == (SafetyState.RUNNING if k == 4 else SafetyState.SOFT_START)
    assert layer.soft_start_progress == 1.0


def test_soft_start_is_rate_limited_and_runs_only_once_the_default_pose_is_reached():
    layer = _build_layer()
    assert layer.activate(np.array([-0.5, 0.6]))  # 1.0 and 1.6 rad to go: 0.25, 0.4 per period
    expected = [(-0.3, 0.4), (-0.1, 0.2), (0.1, 0.0), (0.3, -0.2), (0.5, -0.4), (0.5, -0.6),
                (0.5, -0.8), (0.5, -1.0)]
    for k, target in enumerate(expected, start=1):
        np.testing.assert_allclose(layer.step(_inputs(pos=(-0.5, 0.6))), target, atol=1e-12)
        assert layer.state == (SafetyState.RUNNING if k == 8 else SafetyState.SOFT_START)


def test_soft_start_starts_from_the_clamped_measured_pose():
    layer = _build_layer()
    assert layer.activate(np.array([1.05, 0.0]))  # inside the fault band, outside the clamp band
    np.testing.assert_allclose(layer.last_target, (0.9, 0.0))
    # interpolated (0.8, -0.25), rate-limited from (0.9, 0.0) -> (0.8, -0.2)
    np.testing.assert_allclose(layer.step(_inputs(pos=(1.05, 0.0))), (0.8, -0.2), atol=1e-12)


def test_zero_soft_start_duration_jumps_in_one_rate_limited_period():
    layer = _build_layer(soft_start_duration=0.0, max_target_rate=100.0)
    assert layer.config.soft_start_periods == 1
    assert layer.activate(np.array([0.0, 0.0]))
    np.testing.assert_allclose(layer.step(_inputs(pos=(0.0, 0.0))), DEFAULT)
    assert layer.state == SafetyState.RUNNING


def test_running_targets_are_clamped_then_rate_limited():
    layer = _running_layer()
    np.testing.assert_allclose(layer.step(_inputs(), np.array([2.0, 0.0])), (0.7, -0.8))
    np.testing.assert_allclose(layer.step(_inputs(), np.array([2.0, 0.0])), (0.9, -0.6))
    np.testing.assert_allclose(layer.step(_inputs(), np.array([2.0, 0.0])), (0.9, -0.4))
    np.testing.assert_allclose(layer.step(_inputs(), np.array([-5.0, -5.0])), (0.7, -0.6))
    np.testing.assert_allclose(layer.step(_inputs(), np.array([0.65, -0.55])), (0.65, -0.55))
    assert layer.state == SafetyState.RUNNING


@pytest.mark.parametrize('inputs, fault, detail', [
    (_inputs(ages={'joint_states': 0.0, 'imu': 0.21}), Fault.STALE_INPUT, 'imu 0.210 s'),
    (_inputs(ages={'joint_states': math.inf, 'imu': 0.0}), Fault.STALE_INPUT, 'joint_states'),
    (_inputs(pos=(np.nan, -1.0)), Fault.NON_FINITE, 'joint_pos is not finite at a'),
    (_inputs(vel=(0.0, np.inf)), Fault.NON_FINITE, 'joint_vel is not finite at b'),
    (_inputs(quat=np.array([np.nan, 0, 0, 0])), Fault.NON_FINITE, 'base_quat'),
    (_inputs(finite={'action': np.array([0.0, np.nan])}), Fault.NON_FINITE, 'action'),
    (_inputs(finite={'imu_gyro': np.array([np.nan, 0, 0])}), Fault.NON_FINITE, 'indices [0]'),
    (_inputs(pos=(1.11, -1.0)), Fault.POSITION_LIMIT, 'a at 1.1100 rad'),
    (_inputs(pos=(0.5, -2.11)), Fault.POSITION_LIMIT, 'b at -2.1100 rad'),
    (_inputs(vel=(0.0, -7.6)), Fault.VELOCITY_LIMIT, 'b at -7.600 rad/s, limit 7.500'),
    (_inputs(vel=(15.1, 0.0)), Fault.VELOCITY_LIMIT, 'a at 15.100'),
    (_inputs(quat=_quat_about_x(0.6)), Fault.TILT, 'tilted 0.600 rad'),
    (_inputs(quat=np.zeros(4)), Fault.NON_FINITE, 'zero norm'),
])
def test_each_fault_damps_from_running_and_records_its_reason(inputs, fault, detail):
    layer = _running_layer()
    target = layer.step(inputs, DEFAULT)
    assert layer.state == SafetyState.DAMPING
    assert layer.last_fault.fault == fault
    assert detail in layer.last_fault.detail
    assert layer.last_fault.cycle == layer.cycle
    assert np.all(np.isfinite(target))
    assert np.all(target >= layer.target_lower) and np.all(target <= layer.target_upper)


@pytest.mark.parametrize('inputs', [
    _inputs(ages={'joint_states': 0.2, 'imu': 0.2}),  # exactly the watchdog timeout
    _inputs(pos=(1.09, -1.0)),  # beyond the limit, but inside the margin
    _inputs(pos=(0.5, 2.09)),
    _inputs(vel=(-15.0, 7.5)),  # exactly the velocity bound
    _inputs(quat=_quat_about_x(0.49)),
    _inputs(quat=2.0 * _quat_about_x(0.49)),  # not normalised
])
def test_values_at_or_inside_the_bounds_are_not_faults(inputs):
    layer = _running_layer()
    layer.step(inputs, DEFAULT)
    assert layer.state == SafetyState.RUNNING and layer.last_fault is None


def test_tilt_is_ignored_without_a_floating_base():
    layer = _running_layer(check_tilt=False)
    layer.step(_inputs(quat=_quat_about_x(1.5)), DEFAULT)
    assert layer.state == SafetyState.RUNNING


def test_faults_also_damp_the_soft_start():
    layer = _build_layer()
    assert layer.activate(np.array([0.1, -0.2]))
    layer.step(_inputs(pos=(0.1, -0.2), quat=_quat_about_x(0.7)))
    assert layer.state == SafetyState.DAMPING and layer.last_fault.fault == Fault.TILT


def test_a_missing_or_non_finite_policy_target_damps():
    layer = _running_layer()
    layer.step(_inputs(), None)
    assert layer.last_fault.fault == Fault.POLICY_ERROR
    layer = _running_layer()
    layer.step(_inputs(), np.array([0.0, np.nan]))
    assert layer.last_fault.fault == Fault.NON_FINITE
    assert 'policy target is not finite at b' in layer.last_fault.detail
    layer = _running_layer()
    layer.step(_inputs(), np.zeros(3))
    assert layer.last_fault.fault == Fault.POLICY_ERROR


def test_damping_targets_follow_the_measured_positions_unlimited_but_clamped():
    layer = _running_layer()
    layer.emergency_stop(True)
    # a jump of 1.0 and 2.0 rad from the last target (0.5, -1.0): not rate-limited
    np.testing.assert_allclose(layer.step(_inputs(pos=(-0.5, 1.0)), DEFAULT), (-0.5, 1.0))
    np.testing.assert_allclose(layer.step(_inputs(pos=(-0.4, 1.2)), DEFAULT), (-0.4, 1.2))
    # beyond the limit: the target is clamped into [-0.9, 0.9] x [-1.9, 1.9]
    np.testing.assert_allclose(layer.step(_inputs(pos=(1.5, -2.5)), DEFAULT), (0.9, -1.9))
    # a non-finite measurement holds that joint's last finite measurement
    np.testing.assert_allclose(layer.step(_inputs(pos=(np.nan, 0.3)), DEFAULT), (0.9, 0.3))
    np.testing.assert_allclose(layer.step(_inputs(pos=(0.2, np.nan)), DEFAULT), (0.2, 0.3))
    assert layer.state == SafetyState.DAMPING


def test_the_first_damping_target_is_the_measured_position_of_that_period():
    layer = _running_layer()
    np.testing.assert_allclose(layer.step(_inputs(pos=(np.nan, -0.7)), DEFAULT), (0.5, -0.7))
    assert layer.last_fault.fault == Fault.NON_FINITE


def test_damping_is_left_only_by_reset_and_keeps_the_first_reason():
    layer = _running_layer()
    layer.step(_inputs(pos=(1.2, -1.0)), DEFAULT)
    assert layer.last_fault.fault == Fault.POSITION_LIMIT
    for _ in range(3):  # healthy inputs and more faults change nothing
        layer.step(_inputs(), DEFAULT)
        layer.step(_inputs(quat=_quat_about_x(1.0)), DEFAULT)
    layer.emergency_stop(True)
    layer.emergency_stop(False)
    assert layer.state == SafetyState.DAMPING
    assert layer.last_fault.fault == Fault.POSITION_LIMIT
    assert not layer.activate(DEFAULT)
    assert not layer.deactivate()
    assert layer.reset() == (True, 'damping left; the state is idle')
    assert layer.state == SafetyState.IDLE
    assert layer.step(_inputs(), DEFAULT) is None
    assert layer.last_fault.fault == Fault.POSITION_LIMIT  # kept for diagnostics
    assert layer.activate(DEFAULT) and layer.state == SafetyState.SOFT_START


def test_the_emergency_stop_damps_at_once_and_blocks_reset_and_activation():
    layer = _running_layer()
    layer.emergency_stop(True)
    assert layer.state == SafetyState.DAMPING
    assert layer.last_fault.fault == Fault.EMERGENCY_STOP
    success, message = layer.reset()
    assert not success and 'emergency stop' in message
    layer.emergency_stop(False)
    assert layer.reset()[0]
    layer.emergency_stop(True)  # engaged while idle: no damping, but no activation either
    assert layer.state == SafetyState.IDLE
    assert not layer.activate(DEFAULT)
    layer.emergency_stop(False)
    assert layer.activate(DEFAULT)


def test_reset_and_activate_outside_their_source_state_do_nothing():
    layer = _running_layer()
    assert layer.reset() == (False, 'nothing to reset: the state is running')
    assert not layer.activate(DEFAULT)
    assert layer.state == SafetyState.RUNNING
    idle = _build_layer()
    assert not idle.activate(np.array([np.nan, 0.0]))
    assert idle.state == SafetyState.IDLE


def test_deactivate_returns_an_active_layer_to_idle():
    layer = _running_layer()
    assert layer.deactivate() and layer.state == SafetyState.IDLE
    assert not layer.deactivate()
    layer.activate(DEFAULT)
    assert layer.deactivate() and layer.state == SafetyState.IDLE


def test_helpers():
    np.testing.assert_allclose(rate_limit(np.array([1.0, -1.0, 0.05]), np.zeros(3), 0.1),
                               (0.1, -0.1, 0.05))
    assert base_tilt(UPRIGHT) == pytest.approx(0.0)
    assert base_tilt(_quat_about_x(0.3)) == pytest.approx(0.3)
    about_y = np.array([math.cos(0.2), 0.0, math.sin(0.2), 0.0])  # 0.4 rad pitch
    assert base_tilt(about_y) == pytest.approx(0.4)
    yaw = np.array([math.cos(0.5), 0.0, 0.0, math.sin(0.5)])  # yaw alone is no tilt
    assert base_tilt(yaw) == pytest.approx(0.0, abs=1e-7)
    assert CONFIG.watchdog_timeout == pytest.approx(0.2)
    assert CONFIG.max_target_step == pytest.approx(0.2)
    assert CONFIG.soft_start_periods == 4
    assert SafetyConfig(control_dt=0.02, soft_start_duration=0.05).soft_start_periods == 3


@pytest.mark.parametrize('overrides', [
    {'control_dt': 0.0}, {'watchdog_periods': -1.0}, {'max_target_rate': 0.0},
    {'position_margin': -0.1}, {'soft_start_duration': -1.0}, {'max_tilt': float('nan')},
])
def test_config_rejects_values_that_disable_the_layer(overrides):
    with pytest.raises(ValueError, match=next(iter(overrides))):
        SafetyConfig(**overrides)


def test_layer_rejects_inconsistent_robots():
    with pytest.raises(ValueError, match='narrower than twice position_margin for a'):
        _build_layer(position_margin=1.5)
    with pytest.raises(ValueError, match='default pose outside'):
        SafetyLayer(CONFIG, joint_names=('a', 'b'), default_joint_pos=np.array([0.95, 0.0]),
                    position_lower=np.array([-1.0, -2.0]), position_upper=np.array([1.0, 2.0]),
                    velocity_limit=np.array([10.0, 5.0]), check_tilt=True)
    with pytest.raises(ValueError, match=r'shape \(3,\)'):
        SafetyLayer(CONFIG, joint_names=('a', 'b'), default_joint_pos=np.zeros(3),
                    position_lower=np.array([-1.0, -2.0]), position_upper=np.array([1.0, 2.0]),
                    velocity_limit=np.array([10.0, 5.0]), check_tilt=True)


def test_freshness_follows_advancing_stamps_not_arrivals():
    freshness = InputFreshness()
    assert freshness.age('joint_states', 0.0) == math.inf
    assert freshness.observe('joint_states', stamp=100.0, arrival=1.0)
    assert freshness.observe('joint_states', stamp=100.002, arrival=1.1)  # any sender clock
    # A driver re-publishing its last message: arrivals go on, the input ages.
    for arrival in (1.2, 1.3, 1.4):
        assert not freshness.observe('joint_states', stamp=100.002, arrival=arrival)
    assert freshness.age('joint_states', 1.45) == pytest.approx(0.35)
    assert freshness.repeats(['joint_states']) == {'joint_states': 3}
    assert not freshness.observe('joint_states', stamp=99.0, arrival=1.5)  # older: not new
    assert freshness.stamp('joint_states') == 100.002
    assert freshness.observe('joint_states', stamp=100.004, arrival=1.6)
    assert freshness.ages(['joint_states', 'imu'], 1.7) == pytest.approx(
        {'joint_states': 0.1, 'imu': math.inf})
    assert freshness.repeats(['joint_states']) == {'joint_states': 0}
    freshness.forget()  # e.g. a driver restarted its clock: the next stamp is new again
    assert freshness.observe('joint_states', stamp=0.0, arrival=2.0)


def test_a_frozen_stamp_damps_as_frozen_input_within_the_watchdog():
    layer = _running_layer()
    freshness = InputFreshness()
    now, stamp, fault_cycle = 0.0, 5.0, None
    for cycle in range(10):
        now += CONFIG.control_dt
        if cycle < 3:
            stamp += CONFIG.control_dt  # healthy, then frozen from cycle 3 on
        freshness.observe('joint_states', stamp, now)
        freshness.observe('imu', now, now)  # the IMU stays live
        names = ('joint_states', 'imu')
        layer.step(SafetyInputs(joint_pos=DEFAULT, joint_vel=np.zeros(2), base_quat=UPRIGHT,
                                input_ages=freshness.ages(names, now),
                                repeated_stamps=freshness.repeats(names)), DEFAULT)
        if layer.state == SafetyState.DAMPING and fault_cycle is None:
            fault_cycle = cycle
    # Last advance at cycle 2; stale once older than 2 periods (0.2 s): cycle 5.
    assert fault_cycle == 5
    assert layer.last_fault.fault == Fault.FROZEN_INPUT
    assert 'joint_states (3 messages repeated it)' in layer.last_fault.detail


def test_stale_measurements_hold_the_last_target_then_settle_on_the_default_pose():
    layer = _running_layer(stale_hold=0.2, settle_duration=0.4)
    moved = np.array([0.7, -0.8])
    layer.step(_inputs(), moved)  # last commanded target (0.7, -0.8)
    old_measured = np.array([0.1, 0.2])
    stale = {'joint_states': 1.0, 'imu': 0.0}
    targets = [layer.step(_inputs(pos=old_measured, ages=stale), moved) for _ in range(7)]
    assert layer.last_fault.fault == Fault.STALE_INPUT and layer.settling
    # Never the old measured pose: hold 2 periods, then 4 periods to the default pose.
    expected = [moved, moved, moved + 0.25 * (DEFAULT - moved), moved + 0.5 * (DEFAULT - moved),
                moved + 0.75 * (DEFAULT - moved), DEFAULT, DEFAULT]
    np.testing.assert_allclose(targets, expected, atol=1e-12)
    # Live measurements again: damping on the measured pose (the drive's own damping).
    np.testing.assert_allclose(layer.step(_inputs(pos=(0.3, -0.3)), moved), (0.3, -0.3))
    assert not layer.settling


def test_stale_target_measured_keeps_the_old_behaviour_for_comparisons():
    layer = _running_layer(stale_target='measured')
    target = layer.step(_inputs(pos=(0.1, 0.2), ages={'joint_states': 1.0, 'imu': 0.0}), DEFAULT)
    np.testing.assert_allclose(target, (0.1, 0.2))
    with pytest.raises(ValueError, match="stale_target is 'hold'"):
        SafetyConfig(stale_target='hold')
    with pytest.raises(ValueError, match='settle_duration'):
        SafetyConfig(settle_duration=-1.0)
