# SPDX-License-Identifier: Apache-2.0
"""The linear model of one position-controlled joint that the fitter matches in frequency.

A joint under PD control with the other joints held (Guan et al. 2024, with damping, dry
friction and latency added)::

    (I_link + armature) q'' + (kd + joint_damping + c_sim + b_friction) q'
        + (kp + k_link) q = kp q*(t - delay - latency)

so the command-to-position response is

    H_q(jw) = exp(-jw (delay + latency)) kp / (-(I_link + armature) w^2 + jw c + kp + k_link)

and the actuator torque follows the position through the plant's dynamic stiffness,
``H_tau(jw) = exp(jw torque_lead) (-(I_link + armature) w^2 + jw (joint_damping + c_sim
+ b_friction) + k_link) H_q(jw)``. Dry friction F enters as its describing function, the
viscous damping that dissipates as much per cycle: ``b_friction = 4 F / (pi w A_q)`` with
``A_q = A |H_q|`` the position amplitude under a command of amplitude A. The gains here are
effective values (``motor_strength`` times ``kp_scale`` times ``kp``): command, position and
torque cannot tell them apart.

:class:`JointPlant` holds what the simulator puts around the actuator: the link inertia and
gravity stiffness at the default pose, numerical damping and the delays of the recording
convention. It is calibrated once per simulator and joint from a chirp with known actuator
values (:func:`robot_learning.impedance_matching.fitting.calibrate_plant`).

Simulators integrate in steps of h: with ``JointPlant.step = h`` the model is the exact
response of semi-implicit Euler (``v' = v + h a``, ``q' = q + h v'``, forces from the state at
the start of the step), i.e. ``s`` becomes the backward difference ``(1 - 1/z) / h`` in the
damping and ``s^2`` the central second difference ``(z - 2 + 1/z) / h^2``, with
``z = exp(jwh)``. MuJoCo's implicit integrators also treat the velocity derivative of the
actuator and joint damping implicitly, which divides the force by ``M + h (kd + damping)``
instead of ``M`` (``implicit_damping``); at 5 ms and kd 0.5 N·m·s/rad that is 0.0025 kg·m² of
apparent inertia, a sixth of a quadruped's armature. A real robot is the limit h = 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np

FRICTION_ITERATIONS = 4
"""Fixed-point iterations of the friction describing function (it depends on |H_q|)."""


@dataclasses.dataclass(frozen=True)
class JointPlant:
    """What the simulator adds around one joint's actuator (from a calibration chirp)."""

    inertia: float
    """Link inertia about the joint with the other joints held, armature excluded [kg·m²]."""
    stiffness: float = 0.0
    """Gravity (and any passive) stiffness at the default pose [N·m/rad]."""
    damping: float = 0.0
    """Damping of the engine's integration [N·m·s/rad]."""
    delay: float = 0.0
    """Delay of the sampled position behind the command at zero latency [s]."""
    torque_lead: float = 0.0
    """Lead of the sampled torque over the sampled position [s]."""
    step: float = 0.0
    """Integration step h of the simulator [s]; 0 for a continuous (real) joint."""
    implicit_damping: bool = False
    """True for MuJoCo's implicit and implicitfast integrators (see the module docstring)."""


@dataclasses.dataclass(frozen=True)
class JointActuator:
    """The actuator parameters the fitter identifies, for one joint."""

    kp: float
    """Effective PD stiffness [N·m/rad]."""
    kd: float
    """Effective PD damping [N·m·s/rad]."""
    armature: float
    """Reflected rotor inertia [kg·m²]."""
    joint_damping: float = 0.0
    """Viscous joint damping [N·m·s/rad]."""
    friction_loss: float = 0.0
    """Coulomb friction torque [N·m]."""
    latency: float = 0.0
    """Command-to-PD latency [s]."""

    def as_vector(self) -> np.ndarray:
        """(6,) in field order."""
        return np.array(dataclasses.astuple(self), dtype=float)


def joint_response(actuator: JointActuator, plant: JointPlant, frequency: np.ndarray,
                   amplitude: float) -> tuple[np.ndarray, np.ndarray]:
    """Return (H_q, H_tau), each (F,) complex, at ``frequency`` (F,) [Hz].

    Args:
        actuator: the actuator parameters.
        plant: the simulator's joint plant.
        frequency: evaluation frequencies [Hz] (> 0).
        amplitude: command amplitude A [rad] (for the friction describing function).
    """
    omega = 2.0 * np.pi * np.asarray(frequency, dtype=float)
    passive = plant.damping + actuator.joint_damping
    inertia = plant.inertia + actuator.armature
    if plant.step > 0.0:
        z = np.exp(1j * omega * plant.step)
        velocity = (1.0 - 1.0 / z) / plant.step
        acceleration = (z - 2.0 + 1.0 / z) / plant.step ** 2
        if plant.implicit_damping:
            inertia += plant.step * (actuator.kd + passive)
    else:
        velocity, acceleration = 1j * omega, -omega ** 2
    friction = np.zeros_like(omega)
    for _ in range(FRICTION_ITERATIONS if actuator.friction_loss > 0.0 else 1):
        impedance = inertia * acceleration + velocity * (passive + friction) + plant.stiffness
        closed = impedance + actuator.kp + velocity * actuator.kd
        h_q = actuator.kp / closed * np.exp(-1j * omega * (plant.delay + actuator.latency))
        if actuator.friction_loss > 0.0:
            position_amplitude = np.maximum(amplitude * np.abs(h_q), 1e-9)
            friction = 4.0 * actuator.friction_loss / (np.pi * omega * position_amplitude)
    h_tau = impedance * h_q * np.exp(1j * omega * plant.torque_lead)
    return h_q, h_tau


def natural_frequency(actuator: JointActuator, plant: JointPlant) -> float:
    """Undamped closed-loop natural frequency sqrt((kp + k) / I) [Hz]."""
    stiffness = max(actuator.kp + plant.stiffness, 0.0)
    return float(np.sqrt(stiffness / (plant.inertia + actuator.armature)) / (2.0 * np.pi))
