# SPDX-License-Identifier: Apache-2.0
"""The joint model in closed form, and the fitter recovering values the test sets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from robot_learning.impedance_matching.fitting import (calibrate_plant, fit_actuator,
                                                       FitSettings, JointFrf, standard_errors)
from robot_learning.impedance_matching.frf import FrequencyResponse
from robot_learning.impedance_matching.joint_model import (joint_response, JointActuator,
                                                           JointPlant, natural_frequency)

FREQUENCY = np.geomspace(0.5, 20.0, 80)
SETTINGS = FitSettings(popsize=10, maxiter=60)


def _measured(actuator: JointActuator, plant: JointPlant, noise: float = 0.0) -> JointFrf:
    rng = np.random.default_rng(0)
    h_q, h_tau = joint_response(actuator, plant, FREQUENCY, 0.1)
    wobble = 1 + noise * (rng.standard_normal((2, FREQUENCY.size))
                          + 1j * rng.standard_normal((2, FREQUENCY.size)))
    ones, kept = np.ones(FREQUENCY.size), np.ones(FREQUENCY.size, dtype=bool)
    return JointFrf('FL_calf_joint', 0, FrequencyResponse(FREQUENCY, h_q * wobble[0], ones, kept),
                    FrequencyResponse(FREQUENCY, h_tau * wobble[1], ones, kept), 0.1, 200.0)


def test_closed_form_values():
    actuator = JointActuator(kp=20.0, kd=0.5, armature=0.01)
    plant = JointPlant(inertia=0.01, stiffness=5.0)
    h_q, h_tau = joint_response(actuator, plant, np.array([1e-4]), 0.1)
    assert abs(h_q[0]) == pytest.approx(20.0 / 25.0, rel=1e-6)  # DC: kp / (kp + k)
    assert abs(h_tau[0]) == pytest.approx(5.0 * 0.8, rel=1e-6)  # torque holds gravity
    # sqrt(25 / 0.02) rad/s = 35.36 rad/s = 5.627 Hz.
    assert natural_frequency(actuator, plant) == pytest.approx(5.627, abs=1e-3)
    # A pure delay of 10 ms is -36 degrees at 10 Hz.
    delayed = dataclasses.replace(actuator, latency=0.01)
    ratio = joint_response(delayed, plant, np.array([10.0]), 0.1)[0] / \
        joint_response(actuator, plant, np.array([10.0]), 0.1)[0]
    assert np.degrees(np.angle(ratio[0])) == pytest.approx(-36.0)


def test_discrete_model_tends_to_the_continuous_one():
    actuator = JointActuator(kp=20.0, kd=0.5, armature=0.01)
    plant = JointPlant(inertia=0.005)
    continuous = joint_response(actuator, plant, FREQUENCY, 0.1)[0]
    fine = joint_response(actuator, dataclasses.replace(plant, step=1e-6), FREQUENCY, 0.1)[0]
    assert np.allclose(fine, continuous, rtol=1e-3)


def test_fitter_recovers_the_actuator_it_was_given():
    plant = JointPlant(inertia=0.005, stiffness=-0.08, step=0.005, implicit_damping=True)
    true = JointActuator(kp=22.5, kd=0.315, armature=0.015, joint_damping=0.05,
                         friction_loss=0.0, latency=0.01)
    nominal = JointActuator(kp=20.0, kd=0.5, armature=0.01)
    fitted, cost = fit_actuator(_measured(true, plant, noise=0.01), plant, nominal, SETTINGS)
    assert fitted.kp == pytest.approx(true.kp, rel=0.02)
    assert fitted.kd == pytest.approx(true.kd, rel=0.05)
    assert fitted.armature == pytest.approx(true.armature, rel=0.03)
    assert fitted.latency == pytest.approx(true.latency, abs=5e-4)
    assert cost < 1e-2


def test_calibration_recovers_the_plant_from_the_known_actuator():
    plant = JointPlant(inertia=0.03, stiffness=0.4, damping=0.01, delay=0.0,
                       step=0.005, implicit_damping=True)
    nominal = JointActuator(kp=20.0, kd=0.5, armature=0.01)
    found, _ = calibrate_plant(_measured(nominal, plant), nominal, SETTINGS, step=0.005,
                               implicit_damping=True)
    assert found.inertia == pytest.approx(0.03, rel=1e-3)
    assert found.stiffness == pytest.approx(0.4, abs=1e-2)


def test_standard_errors_tell_an_identifiable_armature_from_one_the_link_hides():
    nominal = JointActuator(kp=20.0, kd=0.5, armature=0.01)
    true = JointActuator(kp=22.5, kd=0.4, armature=0.012, latency=0.005)
    errors = {}
    for name, inertia in (('light link', 0.005), ('heavy link', 2.0)):
        plant = JointPlant(inertia=inertia, step=0.005, implicit_damping=True)
        measured = _measured(true, plant, noise=0.01)
        fitted, _ = fit_actuator(measured, plant, nominal, SETTINGS)
        errors[name] = standard_errors(measured, plant, fitted, nominal)
        assert errors[name][0] < 0.02 * fitted.kp  # the gain is pinned either way
    # Armature 70 % of the inertia: pinned to about 1 %; 0.6 %: not told from the link.
    assert errors['light link'][2] < 0.02 * true.armature
    assert errors['heavy link'][2] > 0.1 * true.armature
    # Without torque the armature and joint damping are not fitted: no error for them.
    plant = JointPlant(inertia=0.005, step=0.005, implicit_damping=True)
    blind = dataclasses.replace(_measured(true, plant), torque=None)
    fitted, _ = fit_actuator(blind, plant, nominal, SETTINGS)
    assert np.isnan(standard_errors(blind, plant, fitted, nominal)[[2, 3]]).all()
