# SPDX-License-Identifier: Apache-2.0
"""The deployment safety layer: a pure state machine between a policy and the robot.

No ROS here: the policy node feeds it one :class:`SafetyInputs` per control period and publishes
what :meth:`SafetyLayer.step` returns. States and transitions::

    IDLE --activate()--> SOFT_START --interpolation done--> RUNNING
      ^                      |                                 |
      |                      +------------- fault -------------+--> DAMPING --reset()--> IDLE
      +------------------------------ deactivate() ------------+

- IDLE: nothing is commanded (``step`` returns None).
- SOFT_START: targets move from the measured pose at activation to the default pose, linearly
  over ``soft_start_duration``; the state turns RUNNING in the period whose target reaches it.
- RUNNING: the policy's targets.
- DAMPING: while the joint measurements are live, target = measured joint positions every
  period, so a position-PD drive applies ``tau = kp * (q - q) - kd * q_dot = -kd * q_dot``:
  pure damping with the drive's own gain. While they are stale (no joint state with an advancing
  stamp within the watchdog) the measured pose is an OLD pose, and a stiff drive pulled toward it
  flips a walking robot: the target then holds the last commanded target for ``stale_hold`` and
  moves linearly onto the default pose over ``settle_duration`` (``stale_target: settle``;
  ``measured`` keeps the old pose, for comparisons only). A node whose driver accepts gains
  sends kp 0 in DAMPING instead (true damping), and the target does not matter.
  Only :meth:`SafetyLayer.reset` leaves it (to IDLE), and not while the emergency stop is engaged.

Freshness: an input is fresh while its header stamp ADVANCES: :class:`InputFreshness` keeps,
per input, the arrival time of the last message whose stamp exceeded every earlier stamp of that
input, and the age of the input is the time since then. A driver that stops publishing and one
that re-publishes its last message (a frozen stamp) both age; the stamps are only compared with
earlier stamps of the same input, never with this machine's clock.

Faults (checked in SOFT_START and RUNNING, first match wins): a stale or frozen input, a
non-finite measurement / observation / action / target, a joint position outside the limits
widened by ``position_margin``, a joint speed above ``velocity_factor`` times its limit, a base
tilt above ``max_tilt`` (floating-base robots only), a missing policy target, the emergency stop.

Every published target is clamped into the limits shrunk by ``position_margin``. SOFT_START and
RUNNING targets are also rate-limited to ``max_target_rate * control_dt`` per period. DAMPING
targets are clamped but not rate-limited: moving the target onto the measured position can only
shrink the spring torque ``kp * (target - q)``, and rate-limiting that move would keep a spring
pulling toward the last policy target for several periods instead of damping (the settle on
stale measurements is slow by construction).

All per-joint arrays are (J,) in the policy contract's joint order.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Mapping, Sequence

import numpy as np


class SafetyState(str, enum.Enum):
    """States of the safety layer; the value is the name published on ``/policy/safety_state``."""

    IDLE = 'idle'
    SOFT_START = 'soft_start'
    RUNNING = 'running'
    DAMPING = 'damping'


class Fault(str, enum.Enum):
    """Why the layer entered DAMPING; the value is the reason string in diagnostics."""

    STALE_INPUT = 'stale_input'
    FROZEN_INPUT = 'frozen_input'
    NON_FINITE = 'non_finite'
    POSITION_LIMIT = 'position_limit'
    VELOCITY_LIMIT = 'velocity_limit'
    TILT = 'tilt'
    POLICY_ERROR = 'policy_error'
    EMERGENCY_STOP = 'emergency_stop'


ACTIVE_STATES = (SafetyState.SOFT_START, SafetyState.RUNNING)
"""States in which faults are checked and the policy or soft start commands the robot."""


STALE_TARGETS = ('settle', 'measured')
"""Values of :attr:`SafetyConfig.stale_target`."""


@dataclasses.dataclass(frozen=True)
class SafetyConfig:
    """Thresholds of the safety layer (the policy node's ROS parameters of the same names)."""

    control_dt: float = 0.02
    """Period between two :meth:`SafetyLayer.step` calls [s]."""
    soft_start_duration: float = 2.0
    """Time to move from the measured pose to the default pose after activation [s]."""
    watchdog_periods: float = 5.0
    """An input older than this many control periods is stale [periods]."""
    position_margin: float = 0.1
    """Targets stay this far inside the joint limits; measurements may exceed them by as much
    before a fault [rad]."""
    velocity_factor: float = 1.5
    """A joint faster than ``velocity_factor * velocity_limit`` is a fault [-]."""
    max_tilt: float = 1.0
    """Largest angle between the base z axis and the world vertical (floating base only) [rad]."""
    max_target_rate: float = 25.0
    """Largest change of a SOFT_START or RUNNING target [rad/s]; per period, times control_dt."""
    stale_target: str = 'settle'
    """DAMPING target while the joint measurements are stale: 'settle' (hold the last commanded
    target, then settle onto the default pose) or 'measured' (the last measured pose, the
    behaviour before; it flips walking robots, kept for comparisons)."""
    stale_hold: float = 0.0
    """DAMPING on stale measurements: time the last commanded target is held [s]."""
    settle_duration: float = 0.5
    """DAMPING on stale measurements: time from the held target to the default pose [s]. Fast
    enough to put the legs under a walking robot (a 3 s settle froze it mid-stride: it flipped in
    every run of ``benchmarks/fault_matrix.py``), slow enough not to kick."""

    def __post_init__(self) -> None:
        """Reject values that would disable the layer by accident."""
        positive = ('control_dt', 'watchdog_periods', 'velocity_factor', 'max_tilt',
                    'max_target_rate')
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f'SafetyConfig.{name} must be > 0, got {getattr(self, name)}')
        if self.stale_target not in STALE_TARGETS:
            raise ValueError(f"SafetyConfig.stale_target is '{self.stale_target}'; valid: "
                             f"{', '.join(STALE_TARGETS)}")
        for name in ('soft_start_duration', 'position_margin', 'stale_hold', 'settle_duration'):
            if not getattr(self, name) >= 0:
                raise ValueError(f'SafetyConfig.{name} must be >= 0, got {getattr(self, name)}')

    @property
    def watchdog_timeout(self) -> float:
        """Age above which an input is stale [s]."""
        return self.watchdog_periods * self.control_dt

    @property
    def soft_start_periods(self) -> int:
        """Number of periods of the soft-start interpolation (at least 1)."""
        return max(1, math.ceil(self.soft_start_duration / self.control_dt - 1e-9))

    @property
    def max_target_step(self) -> float:
        """Largest change of a rate-limited target in one period [rad]."""
        return self.max_target_rate * self.control_dt


@dataclasses.dataclass(frozen=True)
class SafetyInputs:
    """What the layer sees in one control period."""

    joint_pos: np.ndarray
    """(J,) measured joint positions [rad]."""
    joint_vel: np.ndarray
    """(J,) measured joint velocities [rad/s]."""
    base_quat: np.ndarray | None = None
    """(4,) base orientation (w, x, y, z); None for a fixed-base robot (no tilt check)."""
    input_ages: Mapping[str, float] = dataclasses.field(default_factory=dict)
    """Time since the last message with an advancing stamp of each required input, e.g.
    {'joint_states': 0.004} [s] (:meth:`InputFreshness.ages`)."""
    repeated_stamps: Mapping[str, int] = dataclasses.field(default_factory=dict)
    """Messages of each input since its stamp last advanced (> 0: a frozen stream, not a silent
    one; :meth:`InputFreshness.repeats`)."""
    finite: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)
    """Further arrays that must be finite, by name (gyro, odometry, observation, action)."""


@dataclasses.dataclass(frozen=True)
class FaultRecord:
    """The fault that put the layer into DAMPING."""

    fault: Fault
    detail: str
    """Human-readable specifics: which joint or input, the value and the bound."""
    cycle: int
    """Value of :attr:`SafetyLayer.cycle` when it was detected."""


def base_tilt(base_quat: np.ndarray) -> float:
    """Angle between the base z axis and the world vertical [rad] for a quaternion (4,)."""
    w, x, y, z = (float(value) for value in base_quat)
    # z component of the rotated unit z axis: 1 - 2 (x² + y²), for the normalised quaternion.
    cos_tilt = 1.0 - 2.0 * (x * x + y * y) / (w * w + x * x + y * y + z * z)
    return math.acos(min(1.0, max(-1.0, cos_tilt)))


class InputFreshness:
    """Per-input freshness from header stamps and arrival times (any monotonic clock).

    An input is fresh when its latest stamp exceeds every earlier stamp of the same input; its
    age is the arrival-clock time since the last such message. Stamps are compared only with
    each other, so the sender's clock need not agree with the receiver's.
    """

    def __init__(self) -> None:
        """Start with no input seen (every age infinite)."""
        self._stamps: dict[str, float] = {}
        self._fresh_at: dict[str, float] = {}
        self._repeats: dict[str, int] = {}

    def observe(self, name: str, stamp: float, arrival: float) -> bool:
        """Record a message of input ``name`` with header ``stamp`` [s] received at ``arrival``.

        Returns:
            True if the stamp advanced (the message is new data); False for a repeated or older
            stamp (a re-published or reordered message), which does not refresh the input.
        """
        previous = self._stamps.get(name)
        if previous is not None and not stamp > previous:
            self._repeats[name] = self._repeats.get(name, 0) + 1
            return False
        self._stamps[name] = float(stamp)
        self._fresh_at[name] = float(arrival)
        self._repeats[name] = 0
        return True

    def age(self, name: str, now: float) -> float:
        """Time from the last advancing message of ``name`` to ``now`` [s]; inf if none."""
        return now - self._fresh_at.get(name, -math.inf)

    def ages(self, names: Sequence[str], now: float) -> dict[str, float]:
        """Return :meth:`age` of each of ``names``."""
        return {name: self.age(name, now) for name in names}

    def repeats(self, names: Sequence[str]) -> dict[str, int]:
        """Messages of each of ``names`` received since its stamp last advanced."""
        return {name: self._repeats.get(name, 0) for name in names}

    def stamp(self, name: str) -> float | None:
        """Latest advancing stamp of ``name`` [s], or None."""
        return self._stamps.get(name)

    def forget(self) -> None:
        """Forget every stamp (e.g. after an operator reset: a restarted driver's clock)."""
        self._stamps.clear()
        self._fresh_at.clear()
        self._repeats.clear()


def rate_limit(target: np.ndarray, previous: np.ndarray, max_step: float) -> np.ndarray:
    """Move from ``previous`` toward ``target`` (J,) by at most ``max_step`` per joint."""
    return previous + np.clip(target - previous, -max_step, max_step)


class SafetyLayer:
    """The safety state machine for one robot; see the module docstring for the rules."""

    def __init__(self, config: SafetyConfig, *, joint_names: Sequence[str],
                 default_joint_pos: np.ndarray, position_lower: np.ndarray,
                 position_upper: np.ndarray, velocity_limit: np.ndarray,
                 check_tilt: bool) -> None:
        """Set up the layer in IDLE.

        Args:
            config: Thresholds.
            joint_names: (J,) names, used in fault messages.
            default_joint_pos: (J,) soft-start goal [rad] (the policy contract's default pose).
            position_lower: (J,) lower joint limits [rad].
            position_upper: (J,) upper joint limits [rad].
            velocity_limit: (J,) joint speed limits [rad/s].
            check_tilt: Whether to fault on base tilt (floating-base robots).

        Raises:
            ValueError: Arrays of the wrong length, limits narrower than two margins, or a
                default pose outside the clamp band.
        """
        self.config = config
        self.joint_names = tuple(joint_names)
        count = len(self.joint_names)
        arrays = {'default_joint_pos': default_joint_pos, 'position_lower': position_lower,
                  'position_upper': position_upper, 'velocity_limit': velocity_limit}
        arrays = {key: np.asarray(value, dtype=float) for key, value in arrays.items()}
        for key, value in arrays.items():
            if value.shape != (count,):
                raise ValueError(f'{key} has shape {value.shape}, expected ({count},)')
        self.default_joint_pos = arrays['default_joint_pos']
        self.position_lower = arrays['position_lower']
        self.position_upper = arrays['position_upper']
        self.velocity_limit = arrays['velocity_limit']
        margin = config.position_margin
        self.target_lower = self.position_lower + margin
        """(J,) lowest target ever commanded [rad]."""
        self.target_upper = self.position_upper - margin
        """(J,) highest target ever commanded [rad]."""
        if np.any(self.target_lower > self.target_upper):
            raise ValueError('joint limits are narrower than twice position_margin for '
                             f'{self._names(self.target_lower > self.target_upper)}')
        outside = ((self.default_joint_pos < self.target_lower)
                   | (self.default_joint_pos > self.target_upper))
        if np.any(outside):
            raise ValueError(f'default pose outside the limits shrunk by position_margin for '
                             f'{self._names(outside)}')
        self.check_tilt = check_tilt
        self.state = SafetyState.IDLE
        self.last_fault: FaultRecord | None = None
        """Reason of the last entry into DAMPING (kept after reset, for diagnostics)."""
        self.estop_engaged = False
        self.cycle = 0
        """Number of :meth:`step` calls so far."""
        self.last_target: np.ndarray | None = None
        """(J,) last returned target [rad]; None before the first activation."""
        self._soft_start_from = np.zeros(count)
        self._soft_start_count = 0
        self._last_finite_pos = self.default_joint_pos.copy()
        self._settle_from: np.ndarray | None = None
        """(J,) target when the measurements went stale in DAMPING; None while they are live."""
        self._settle_count = 0

    # Transitions requested from outside.

    def activate(self, joint_pos: np.ndarray) -> bool:
        """Start the soft start from the measured pose (J,); only from IDLE.

        Returns:
            True if the layer is now in SOFT_START; False if it was not IDLE, the emergency stop
            is engaged or ``joint_pos`` is not finite.
        """
        joint_pos = np.asarray(joint_pos, dtype=float)
        if (self.state != SafetyState.IDLE or self.estop_engaged
                or not np.all(np.isfinite(joint_pos))):
            return False
        start = self.clamp(joint_pos)
        self._soft_start_from = start
        self._soft_start_count = 0
        self._last_finite_pos = joint_pos.copy()
        self.last_target = start
        self.state = SafetyState.SOFT_START
        return True

    def deactivate(self) -> bool:
        """Go from SOFT_START or RUNNING back to IDLE (an orderly stop); DAMPING stays.

        Returns:
            True if the state changed.
        """
        if self.state not in ACTIVE_STATES:
            return False
        self.state = SafetyState.IDLE
        return True

    def reset(self) -> tuple[bool, str]:
        """Leave DAMPING for IDLE, unless the emergency stop is still engaged.

        Returns:
            (success, message for the operator).
        """
        if self.state != SafetyState.DAMPING:
            return False, f'nothing to reset: the state is {self.state.value}'
        if self.estop_engaged:
            return False, 'the emergency stop is engaged; release it before the reset'
        self.state = SafetyState.IDLE
        return True, 'damping left; the state is idle'

    def emergency_stop(self, engaged: bool) -> None:
        """Record the emergency-stop input; engaging it damps an active layer at once."""
        self.estop_engaged = bool(engaged)
        if self.estop_engaged and self.state in ACTIVE_STATES:
            self._enter_damping(Fault.EMERGENCY_STOP, 'emergency stop engaged')

    # The periodic update.

    def step(self, inputs: SafetyInputs,
             policy_target: np.ndarray | None = None) -> np.ndarray | None:
        """Advance one control period.

        Args:
            inputs: This period's measurements and input ages.
            policy_target: (J,) policy joint targets [rad]; read only in RUNNING.

        Returns:
            (J,) joint targets to command [rad], or None in IDLE (command nothing).
        """
        self.cycle += 1
        joint_pos = np.asarray(inputs.joint_pos, dtype=float)
        finite = np.isfinite(joint_pos)
        if self.state in ACTIVE_STATES:
            found = self.check(inputs)
            if found is None and self.state == SafetyState.RUNNING:
                found = self._check_policy_target(policy_target)
            if found is not None:
                self._enter_damping(*found)
        self._last_finite_pos = np.where(finite, joint_pos, self._last_finite_pos)
        if self.state == SafetyState.IDLE:
            return None
        if self.state == SafetyState.DAMPING:
            target = self._degraded_target(inputs)
        elif self.state == SafetyState.SOFT_START:
            target = self._soft_start_target()
        else:
            target = rate_limit(self.clamp(np.asarray(policy_target, dtype=float)),
                                self.last_target, self.config.max_target_step)
        self.last_target = target
        return target.copy()

    def check(self, inputs: SafetyInputs) -> tuple[Fault, str] | None:
        """Return the first fault in ``inputs`` as (fault, detail), or None; changes nothing."""
        config = self.config
        stale = {name: age for name, age in inputs.input_ages.items()
                 if not age <= config.watchdog_timeout}
        if stale:
            frozen = {name: inputs.repeated_stamps.get(name, 0) for name in stale
                      if inputs.repeated_stamps.get(name, 0) > 0}
            if frozen:
                counts = ', '.join(f'{name} ({count} messages repeated it)'
                                   for name, count in frozen.items())
                return Fault.FROZEN_INPUT, (
                    f'header stamp not advancing for more than {config.watchdog_timeout:.3f} '
                    f's: {counts}')
            ages = ', '.join(f'{name} {age:.3f} s' for name, age in stale.items())
            return Fault.STALE_INPUT, (
                f'no new message for more than {config.watchdog_timeout:.3f} s: {ages}')
        arrays = {'joint_pos': inputs.joint_pos, 'joint_vel': inputs.joint_vel}
        if inputs.base_quat is not None:
            arrays['base_quat'] = inputs.base_quat
        arrays.update(inputs.finite)
        values = [np.asarray(value, dtype=float).ravel() for value in arrays.values()]
        all_finite = bool(np.isfinite(np.concatenate(values)).all())
        for name, value in ({} if all_finite else arrays).items():  # details only on failure
            value = np.asarray(value, dtype=float)
            bad = ~np.isfinite(value)
            if np.any(bad):
                where = self._names(bad) if value.shape == (len(self.joint_names),) else (
                    f'indices {np.flatnonzero(bad).tolist()}')
                return Fault.NON_FINITE, f'{name} is not finite at {where}'
        joint_pos = np.asarray(inputs.joint_pos, dtype=float)
        margin = config.position_margin
        outside = ((joint_pos < self.position_lower - margin)
                   | (joint_pos > self.position_upper + margin))
        if np.any(outside):
            i = int(np.flatnonzero(outside)[0])
            return Fault.POSITION_LIMIT, (
                f'{self.joint_names[i]} at {joint_pos[i]:.4f} rad, outside '
                f'[{self.position_lower[i]:.4f}, {self.position_upper[i]:.4f}] ± {margin} rad')
        speed_limit = self.velocity_limit * config.velocity_factor
        too_fast = np.abs(np.asarray(inputs.joint_vel, dtype=float)) > speed_limit
        if np.any(too_fast):
            i = int(np.flatnonzero(too_fast)[0])
            return Fault.VELOCITY_LIMIT, (f'{self.joint_names[i]} at {inputs.joint_vel[i]:.3f} '
                                          f'rad/s, limit {speed_limit[i]:.3f} rad/s')
        if self.check_tilt and inputs.base_quat is not None:
            if not np.linalg.norm(inputs.base_quat) > 0:
                return Fault.NON_FINITE, 'base_quat has zero norm'
            tilt = base_tilt(inputs.base_quat)
            if tilt > config.max_tilt:
                return Fault.TILT, f'base tilted {tilt:.3f} rad, limit {config.max_tilt} rad'
        return None

    def damping_target(self) -> np.ndarray:
        """Return the DAMPING target (J,): the last finite measured positions, clamped [rad]."""
        return self.clamp(self._last_finite_pos)

    def measurements_live(self, inputs: SafetyInputs) -> bool:
        """Whether the joint measurements of ``inputs`` are fresh (no joint_states age: yes)."""
        age = inputs.input_ages.get('joint_states', 0.0)
        return age <= self.config.watchdog_timeout

    @property
    def settling(self) -> bool:
        """True while DAMPING on stale measurements (holding, then settling)."""
        return self.state == SafetyState.DAMPING and self._settle_from is not None

    def clamp(self, target: np.ndarray) -> np.ndarray:
        """Clamp targets (J,) into the joint limits shrunk by ``position_margin``."""
        return np.clip(target, self.target_lower, self.target_upper)

    @property
    def soft_start_progress(self) -> float:
        """Fraction of the soft-start interpolation done, in [0, 1]."""
        return min(1.0, self._soft_start_count / self.config.soft_start_periods)

    # Internals.

    def _check_policy_target(self, target: np.ndarray | None) -> tuple[Fault, str] | None:
        if target is None:
            return Fault.POLICY_ERROR, 'no policy target in RUNNING'
        target = np.asarray(target, dtype=float)
        if target.shape != (len(self.joint_names),):
            return Fault.POLICY_ERROR, f'policy target has shape {target.shape}'
        if not np.all(np.isfinite(target)):
            return Fault.NON_FINITE, (f'policy target is not finite at '
                                      f'{self._names(~np.isfinite(target))}')
        return None

    def _soft_start_target(self) -> np.ndarray:
        self._soft_start_count += 1
        alpha = self.soft_start_progress
        goal = self.clamp(self.default_joint_pos)
        interpolated = self._soft_start_from + alpha * (goal - self._soft_start_from)
        target = rate_limit(interpolated, self.last_target, self.config.max_target_step)
        if alpha >= 1.0 and np.allclose(target, goal, rtol=0.0, atol=1e-9):
            self.state = SafetyState.RUNNING
        return target

    def _degraded_target(self, inputs: SafetyInputs) -> np.ndarray:
        """DAMPING target: the measured pose while live, else hold then settle (see module)."""
        config = self.config
        if config.stale_target == 'measured' or self.measurements_live(inputs):
            self._settle_from = None
            return self.damping_target()
        if self._settle_from is None:  # never jump to the old measured pose
            self._settle_from = self.clamp(self.last_target if self.last_target is not None
                                           else self._last_finite_pos)
            self._settle_count = 0
        self._settle_count += 1
        elapsed = self._settle_count * config.control_dt - config.stale_hold
        alpha = 1.0 if config.settle_duration == 0 else elapsed / config.settle_duration
        alpha = min(1.0, max(0.0, alpha))
        goal = self.clamp(self.default_joint_pos)
        return self._settle_from + alpha * (goal - self._settle_from)

    def _enter_damping(self, fault: Fault, detail: str) -> None:
        self.state = SafetyState.DAMPING
        self._settle_from = None
        self.last_fault = FaultRecord(fault, detail, self.cycle)

    def _names(self, mask: np.ndarray) -> str:
        return ', '.join(name for name, flag in zip(self.joint_names, mask) if flag)
