# SPDX-License-Identifier: Apache-2.0
"""Fit the joint model to measured frequency responses: global, then local optimisation.

The misfit at each kept frequency is the complex log ratio ``log(H_model / H_measured)``: its
real part is the magnitude error in nepers (1 Np = 8.69 dB) and its imaginary part the phase
error in radians, so magnitude and phase are matched together (Guan et al. match magnitude
only, which leaves latency unidentified). Each frequency is weighted by the square root of its
coherence, each response by one over the square root of its number of frequencies. The sum of
squares is minimised by ``scipy.optimize.differential_evolution`` inside the parameter bounds,
then refined by ``scipy.optimize.least_squares`` from the best point.

Two fits use this misfit:

- :func:`calibrate_plant`: the simulator's :class:`JointPlant` from a chirp on the nominal
  simulator, whose actuator values are known;
- :func:`fit_actuator`: the :class:`JointActuator` of a measured joint, with the plant fixed.
  With torque measured, the torque response separates the gains from the inertia and the PD
  damping from the joint damping; without it, armature and joint damping stay at their given
  values.

:func:`standard_errors` says how well the data pin each fitted parameter: the Gauss-Newton
covariance s^2 (J^T J)^-1 of the misfit at the fit (J by central differences, s^2 the residual
variance). Where the link inertia dwarfs the rotor's, the armature barely changes the response
and its standard error is of the order of the armature itself: the fit cannot tell it apart.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import optimize

from robot_learning.impedance_matching.frf import estimate_frf, FrequencyResponse, FrfConfig
from robot_learning.impedance_matching.joint_model import (joint_response, JointActuator,
                                                           JointPlant)
from robot_learning.impedance_matching.recording import JointRecording


@dataclasses.dataclass(frozen=True)
class JointFrf:
    """The measured responses of one joint in one trial."""

    joint: str
    trial: int
    position: FrequencyResponse
    """Command -> position [rad/rad]."""
    torque: FrequencyResponse | None
    """Command -> actuator torque [N·m/rad]; None without torque measurements."""
    amplitude: float
    """Command amplitude [rad]."""
    rate: float
    """Sample rate [Hz]."""


@dataclasses.dataclass(frozen=True)
class FitSettings:
    """Optimiser settings."""

    popsize: int = 12
    """Differential evolution population per parameter."""
    maxiter: int = 80
    """Differential evolution generations."""
    seed: int = 0


def measure(item: JointRecording, band: tuple[float, float],
            config: FrfConfig = FrfConfig()) -> JointFrf:
    """Estimate the position (and torque) response of one recording."""
    what = f'{item.joint} (trial {item.trial})'
    position = estimate_frf(item.command, item.position, item.rate, band, config, what)
    torque = None
    if item.torque is not None:
        torque = estimate_frf(item.command, item.torque, item.rate, band, config,
                              f'{what} torque')
    amplitude = 0.5 * float(np.ptp(item.command))
    return JointFrf(item.joint, item.trial, position, torque, amplitude, item.rate)


def misfit(actuator: JointActuator, plant: JointPlant, measured: JointFrf) -> np.ndarray:
    """Residual vector: weighted real and imaginary parts of log(H_model / H_measured)."""
    parts = []
    responses = [measured.position] + ([measured.torque] if measured.torque is not None else [])
    frequency = measured.position.frequency
    model_q, model_tau = joint_response(actuator, plant, frequency, measured.amplitude)
    for model, response in zip((model_q, model_tau), responses):
        kept = response.kept
        weight = np.sqrt(response.coherence[kept] / kept.sum())
        with np.errstate(divide='ignore', invalid='ignore'):
            ratio = np.log(model[kept] / response.response[kept])
        ratio = np.where(np.isfinite(ratio), ratio, 10.0)
        parts += [weight * ratio.real, weight * ratio.imag]
    return np.concatenate(parts)


def _optimise(residual, lower: np.ndarray, upper: np.ndarray, settings: FitSettings
              ) -> tuple[np.ndarray, float]:
    """Differential evolution over the box, then least squares from its best point."""
    free = upper > lower
    if not free.any():
        return lower.copy(), float(np.sum(residual(lower) ** 2))

    def full(x_free: np.ndarray) -> np.ndarray:
        x = lower.copy()
        x[free] = x_free
        return x

    def cost(x_free: np.ndarray) -> float:
        return float(np.sum(residual(full(x_free)) ** 2))

    bounds = optimize.Bounds(lower[free], upper[free])
    result = optimize.differential_evolution(
        cost, bounds, popsize=settings.popsize, maxiter=settings.maxiter, tol=1e-10,
        seed=settings.seed, polish=False, init='sobol')
    local = optimize.least_squares(lambda x: residual(full(x)), result.x,
                                   bounds=(lower[free], upper[free]), x_scale='jac',
                                   xtol=1e-12, ftol=1e-12, gtol=1e-12)
    best = local.x if 2.0 * local.cost <= result.fun else result.x
    return full(best), float(np.sum(residual(full(best)) ** 2))


def calibrate_plant(measured: JointFrf, actuator: JointActuator,
                    settings: FitSettings = FitSettings(), step: float = 0.0,
                    implicit_damping: bool = False) -> tuple[JointPlant, float]:
    """Fit the simulator's plant from a chirp on the simulator with a known ``actuator``.

    Args:
        measured: the simulator's responses.
        actuator: the simulator's actuator values (nominal: kp, kd, armature of the robot).
        settings: optimiser settings.
        step: the simulator's integration step [s] (``JointPlant.step``).
        implicit_damping: see ``JointPlant.implicit_damping``.

    Returns:
        The plant and the final sum of squared residuals.
    """
    period = 1.0 / measured.rate
    kp, kd = actuator.kp, actuator.kd
    # x = (log10 inertia, stiffness, damping, delay, torque_lead)
    lower = np.array([-5.0, -0.9 * kp, 0.0, -2.0 * period, -3.0 * period])
    upper = np.array([2.0, 2.0 * kp, kd + 1e-3, 5.0 * period, 3.0 * period])
    if measured.torque is None:
        lower[4] = upper[4] = 0.0

    def plant_of(x: np.ndarray) -> JointPlant:
        return JointPlant(inertia=10.0 ** x[0], stiffness=x[1], damping=x[2], delay=x[3],
                          torque_lead=x[4], step=step, implicit_damping=implicit_damping)

    x, cost = _optimise(lambda x: misfit(actuator, plant_of(x), measured), lower, upper,
                        settings)
    return plant_of(x), cost


def standard_errors(measured: JointFrf, plant: JointPlant, actuator: JointActuator,
                    nominal: JointActuator) -> np.ndarray:
    """Return the standard errors (6,) of a fitted actuator's parameters, in their units.

    Args:
        measured: the responses the actuator was fitted to.
        plant: the plant it was fitted with.
        actuator: the fitted actuator (:func:`fit_actuator`).
        nominal: the simulator's actuator values, which set the difference steps.

    Returns:
        Field order of :class:`JointActuator`; NaN for parameters the fit held fixed (armature
        and joint damping without torque), inf for one that does not change the misfit.
    """
    x = actuator.as_vector()
    typical = np.array([nominal.kp, nominal.kd, max(nominal.armature, 1e-3 * plant.inertia),
                        max(nominal.kd, 1e-3), max(0.01 * nominal.kp * measured.amplitude, 1e-4),
                        1.0 / measured.rate])
    free = np.ones(6, dtype=bool)
    if measured.torque is None:
        free[[2, 3]] = False
    columns = []
    for index in np.flatnonzero(free):
        step = 1e-3 * typical[index]
        low = x.copy()
        high = x.copy()
        high[index] += step
        low[index] = max(x[index] - step, 0.0)
        change = (misfit(JointActuator(*high), plant, measured)
                  - misfit(JointActuator(*low), plant, measured))
        columns.append(change / (high[index] - low[index]))
    jacobian = np.stack(columns, axis=1)
    residual = misfit(actuator, plant, measured)
    dof = max(residual.size - jacobian.shape[1], 1)
    variance = float(residual @ residual) / dof
    information = jacobian.T @ jacobian
    errors = np.full(6, np.nan)
    with np.errstate(divide='ignore', invalid='ignore'):
        covariance = variance * np.linalg.pinv(information)
        diagonal = np.diag(covariance)
        insensitive = np.diag(information) <= 1e-12 * max(float(np.trace(information)), 1e-300)
        errors[free] = np.where(insensitive, np.inf, np.sqrt(np.maximum(diagonal, 0.0)))
    return errors


def fit_actuator(measured: JointFrf, plant: JointPlant, nominal: JointActuator,
                 settings: FitSettings = FitSettings(), max_latency: float = 0.05
                 ) -> tuple[JointActuator, float]:
    """Fit the actuator of a measured joint with the simulator's plant fixed.

    Args:
        measured: the measured responses.
        plant: the simulator's plant of this joint (:func:`calibrate_plant`).
        nominal: the simulator's actuator values; they scale the search box (kp 0.2-5 x,
            kd 0-5 x, armature 0-10 x) and give armature and joint damping without torque.
        settings: optimiser settings.
        max_latency: upper bound of the latency [s].

    Returns:
        The fitted actuator and the final sum of squared residuals.
    """
    kp, kd = nominal.kp, nominal.kd
    armature_high = max(10.0 * nominal.armature, plant.inertia)
    friction_high = 0.3 * kp * measured.amplitude
    lower = np.array([0.2 * kp, 0.0, 0.0, 0.0, 0.0, 0.0])
    upper = np.array([5.0 * kp, 5.0 * kd, armature_high, 2.0 * kd, friction_high, max_latency])
    if measured.torque is None:
        lower[[2, 3]] = upper[[2, 3]] = [nominal.armature, nominal.joint_damping]
    x, cost = _optimise(lambda x: misfit(JointActuator(*x), plant, measured), lower, upper,
                        settings)
    return JointActuator(*x), cost
