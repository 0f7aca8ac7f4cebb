# SPDX-License-Identifier: Apache-2.0
"""Impedance matching end to end: measured chirps -> matched simulator -> randomization ranges.

1. Estimate the measured responses of every joint and trial (saturated, clipped, too short or
   incoherent recordings are rejected with an error that names the joint).
2. Replay the measured commands on the nominal simulator (robot hung on a stand) and calibrate
   each joint's plant (link inertia, gravity stiffness, timing) with the known nominal actuator.
3. Fit each measured joint and trial's actuator (effective kp and kd, armature, joint damping,
   friction loss, latency) with its plant fixed.
4. Match per joint group (the joint name without its side prefix, e.g. 'calf', 'hip_pitch'):
   the medians over the group's joints and trials; damping, friction and latency are single
   dynamics parameters of the simulator, so their medians over all joints are used. An
   armature whose standard error exceeds ``ARMATURE_TRUST`` of its value (the link inertia
   dwarfs it, so the response cannot separate the two) is not used: a group with no
   identified armature keeps the robot's own and is listed in ``unidentified_armature``.
5. Replay the commands on the matched simulator and compare Bode magnitudes before and after.
6. Turn the spread over joints and trials into randomization ranges around the matched values.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.impedance_matching.experiment import run_commands
from robot_learning.impedance_matching.fitting import (calibrate_plant, fit_actuator,
                                                       FitSettings, JointFrf, measure,
                                                       standard_errors)
from robot_learning.impedance_matching.frf import FrequencyResponse, FrfConfig
from robot_learning.impedance_matching.joint_model import JointActuator, JointPlant
from robot_learning.impedance_matching.recording import check_recording, Recording
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimConfig
from robot_learning.sim.dynamics import PARAMETERS

SIDE_PREFIX = re.compile(r'^(FL|FR|RL|RR|HL|HR|left|right|l|r)_', re.IGNORECASE)
GAIN_MARGIN = 0.05
"""Widening of the kp, kd and armature scale ranges beyond the observed spread [-]."""
LATENCY_STEPS_MARGIN = 1
"""Widening of the latency range beyond the observed spread [physics steps]."""
ARMATURE_TRUST = 0.1
"""Largest standard error of a fitted armature, relative to its value, that is used [-]."""


def joint_group(name: str) -> str:
    """Return the group of a joint: its name without side prefix and '_joint' suffix.

    'FL_calf_joint' -> 'calf', 'left_hip_pitch_joint' -> 'hip_pitch', 'joint_3' -> 'joint_3'.
    """
    return SIDE_PREFIX.sub('', name).removesuffix('_joint')


@dataclasses.dataclass(frozen=True)
class Simulator:
    """The simulator being matched: robot, engine and engine options."""

    robot: RobotSpec
    backend: str = 'mujoco'
    sim: SimConfig = SimConfig()

    @property
    def plant_options(self) -> dict:
        """``JointPlant.step`` and ``implicit_damping`` of this engine."""
        implicit = self.backend == 'mujoco' and self.sim.integrator in ('implicit',
                                                                        'implicitfast')
        return {'step': self.sim.sim_dt, 'implicit_damping': implicit}


@dataclasses.dataclass(frozen=True)
class JointFit:
    """The fit of one joint in one trial."""

    joint: str
    group: str
    trial: int
    actuator: JointActuator
    plant: JointPlant
    cost: float
    """Final sum of squared residuals."""
    measured: JointFrf
    nominal_sim: FrequencyResponse
    """Command -> position of the nominal simulator."""
    matched_sim: FrequencyResponse | None = None
    """Command -> position of the matched simulator."""
    standard_error: np.ndarray | None = None
    """(6,) standard errors of the actuator parameters (``fitting.standard_errors``)."""

    @property
    def armature_identified(self) -> bool:
        """True when the armature was fitted and its standard error is within the trust."""
        if self.standard_error is None:
            return False
        error = float(self.standard_error[2])
        return bool(np.isfinite(error) and error <= ARMATURE_TRUST * self.actuator.armature)

    def rms_db(self, simulated: FrequencyResponse) -> float:
        """RMS of the Bode magnitude difference over the measured kept band [dB]."""
        kept = self.measured.position.kept
        frequency = self.measured.position.frequency[kept]
        simulated_db = np.interp(frequency, simulated.frequency, simulated.magnitude_db)
        difference = simulated_db - self.measured.position.magnitude_db[kept]
        return float(np.sqrt(np.mean(difference ** 2)))


@dataclasses.dataclass(frozen=True)
class MatchResult:
    """Everything impedance matching produced."""

    robot: RobotSpec
    matched_robot: RobotSpec
    """The robot with matched per-joint kp, kd and armature."""
    dynamics: dict[str, float]
    """Matched simulator dynamics: joint_damping, friction_loss, action_latency."""
    ranges: dict[str, list[float]]
    """Randomization box around the matched simulator: name -> [low, high]."""
    fits: tuple[JointFit, ...]
    torque_measured: bool
    unidentified_armature: tuple[str, ...] = ()
    """Groups whose armature no fit identified (they keep the robot's own)."""

    def group_table(self) -> dict[str, dict[str, float]]:
        """Return per group the median and range of each fitted parameter (joints, trials)."""
        table = {}
        for group in dict.fromkeys(fit.group for fit in self.fits):
            values = np.array([fit.actuator.as_vector() for fit in self.fits
                               if fit.group == group])
            row = {}
            for index, field in enumerate(dataclasses.fields(JointActuator)):
                column = values[:, index]
                row[field.name] = float(np.median(column))
                row[f'{field.name}_min'] = float(column.min())
                row[f'{field.name}_max'] = float(column.max())
            table[group] = row
        return table


def nominal_actuator(robot: RobotSpec, joint: int) -> JointActuator:
    """Return the robot's own actuator values of ``joint`` (no damping, friction or latency)."""
    return JointActuator(kp=float(robot.kp[joint]), kd=float(robot.kd[joint]),
                         armature=float(robot.armature[joint]))


def _replay(simulator: Simulator, robot: RobotSpec, joints: list[str], measured: Recording,
            dynamics: dict[str, float], settle: float) -> Recording:
    """Run the first trial's command of each joint on ``robot`` at the simulator's step."""
    rate = 1.0 / simulator.sim.sim_dt
    columns, indices = [], []
    for name in joints:
        item = next(item for item in measured.joints if item.joint == name)
        joint = robot.joint_index(name)
        time = np.arange(int(item.duration * rate)) / rate
        source_time = np.arange(item.command.size) / item.rate
        held = np.clip(np.searchsorted(source_time, time, side='right') - 1, 0, None)
        columns.append(item.command[held] - robot.default_joint_pos[joint])
        indices.append(joint)
    length = max(column.size for column in columns)
    offsets = np.zeros((length, len(columns)))
    for k, column in enumerate(columns):
        offsets[:column.size, k] = column
    return run_commands(robot, simulator.backend, simulator.sim, dynamics, np.array(indices),
                        offsets, settle=settle, source='sim')


def match(recording: Recording, simulator: Simulator, band: tuple[float, float],
          frf_config: FrfConfig = FrfConfig(), settings: FitSettings = FitSettings(),
          settle: float = 1.0) -> MatchResult:
    """Match ``simulator`` to ``recording``; see the module docstring.

    Raises:
        ConfigError: a joint the robot does not have, or a recording that is saturated,
            clipped, too short for ``band[0]`` or incoherent everywhere.
    """
    robot = simulator.robot
    for item in recording.joints:
        robot.joint_index(item.joint)
        check_recording(item, robot)
    measured = [measure(item, band, frf_config) for item in recording.joints]
    torque = all(m.torque is not None for m in measured)
    joints = list(dict.fromkeys(item.joint for item in recording.joints))

    nominal_run = _replay(simulator, robot, joints, recording, {}, settle)
    plants, nominal_frf = {}, {}
    for item in nominal_run.joints:
        sim_measured = measure(item, band, frf_config)
        if not torque:
            sim_measured = dataclasses.replace(sim_measured, torque=None)
        actuator = nominal_actuator(robot, robot.joint_index(item.joint))
        plants[item.joint], _ = calibrate_plant(sim_measured, actuator, settings,
                                                **simulator.plant_options)
        nominal_frf[item.joint] = sim_measured.position

    fits = []
    for item in measured:
        joint = robot.joint_index(item.joint)
        nominal = nominal_actuator(robot, joint)
        actuator, cost = fit_actuator(item, plants[item.joint], nominal, settings)
        fits.append(JointFit(item.joint, joint_group(item.joint), item.trial, actuator,
                             plants[item.joint], cost, item, nominal_frf[item.joint],
                             standard_error=standard_errors(item, plants[item.joint], actuator,
                                                            nominal)))

    matched_robot, dynamics, unidentified = _matched(robot, fits, torque)
    matched_run = _replay(simulator, matched_robot, joints, recording, dynamics, settle)
    matched_frf = {item.joint: measure(item, band, frf_config).position
                   for item in matched_run.joints}
    fits = tuple(dataclasses.replace(fit, matched_sim=matched_frf[fit.joint]) for fit in fits)
    ranges = _ranges(matched_robot, dynamics, fits, simulator.sim.sim_dt, torque)
    return MatchResult(robot, matched_robot, dynamics, ranges, fits, torque, unidentified)


def _matched(robot: RobotSpec, fits: list[JointFit], torque: bool
             ) -> tuple[RobotSpec, dict[str, float], tuple[str, ...]]:
    """Group medians -> per-joint kp, kd, armature; all-joint medians -> dynamics.

    Returns the matched robot, the dynamics and the groups whose armature is unidentified.
    """
    kp, kd, armature = robot.kp.copy(), robot.kd.copy(), robot.armature.copy()
    unidentified = []
    for group in dict.fromkeys(fit.group for fit in fits):
        everyone = [fit for fit in fits if fit.group == group]
        # Ratios to the nominal values, so that joints of a group may differ nominally.
        for values, field in ((kp, 'kp'), (kd, 'kd'), (armature, 'armature')):
            members = everyone
            if field == 'armature':
                members = [fit for fit in everyone if fit.armature_identified]
                if not members:
                    if torque:
                        unidentified.append(group)
                    continue
            indices = [robot.joint_index(fit.joint) for fit in members]
            nominal = values[indices]
            fitted = np.array([getattr(fit.actuator, field) for fit in members])
            ratio = np.median(fitted / np.where(nominal > 0, nominal, 1.0))
            for joint in {robot.joint_index(fit.joint) for fit in everyone}:
                values[joint] = ratio * values[joint] if values[joint] > 0 else \
                    np.median(fitted)
    matched = dataclasses.replace(robot, kp=kp, kd=kd, armature=armature)
    dynamics = {name: float(np.median([getattr(fit.actuator, field) for fit in fits]))
                for name, field in (('joint_damping', 'joint_damping'),
                                    ('friction_loss', 'friction_loss'),
                                    ('action_latency', 'latency'))}
    return matched, dynamics, tuple(unidentified)


def _ranges(matched: RobotSpec, dynamics: dict[str, float], fits: tuple[JointFit, ...],
            sim_dt: float, torque: bool) -> dict[str, list[float]]:
    """Randomization box around the matched simulator from the spread of the fits."""
    def ratios(field: str, values: np.ndarray) -> np.ndarray:
        used = [fit for fit in fits if field != 'armature' or fit.armature_identified]
        return np.array([getattr(fit.actuator, field) / values[matched.joint_index(fit.joint)]
                         for fit in used if values[matched.joint_index(fit.joint)] > 0])

    ranges = {}
    scales = [('kp_scale', 'kp', matched.kp), ('kd_scale', 'kd', matched.kd)]
    if torque:
        scales.append(('armature_scale', 'armature', matched.armature))
    for name, field, values in scales:
        observed = ratios(field, values)
        if observed.size:
            ranges[name] = [observed.min() - GAIN_MARGIN, observed.max() + GAIN_MARGIN]
    latency = np.array([fit.actuator.latency for fit in fits])
    margin = LATENCY_STEPS_MARGIN * sim_dt
    ranges['action_latency'] = [latency.min() - margin, latency.max() + margin]
    for name, field in (('joint_damping', 'joint_damping'), ('friction_loss', 'friction_loss')):
        if name == 'joint_damping' and not torque:
            continue
        observed = np.array([getattr(fit.actuator, field) for fit in fits])
        ranges[name] = [0.75 * observed.min(), 1.25 * observed.max() + 1e-4]
    box = {}
    for name, (low, high) in ranges.items():
        param = PARAMETERS[name]
        box[name] = [float(np.clip(low, param.lower, param.upper)),
                     float(np.clip(high, param.lower, param.upper))]
    if not all(high > low for low, high in box.values()):
        raise ConfigError(f'impedance matching: degenerate randomization range in {box}')
    return box
