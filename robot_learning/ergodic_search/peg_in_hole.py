# SPDX-License-Identifier: Apache-2.0
"""The peg-in-hole task in MuJoCo: an arm searches for an uncertain hole and inserts its peg.

Scene: the robot (``arm``: urdf/arm.urdf with its peg; ``kuka_iiwa``: pybullet_data's iiwa with
a peg of the same size added to its flange) from ``sim/mujoco_model.py``, its position
actuators turned into torque motors, and a plate with a hole at ``hole_position`` in front of
it. The hole is cut out of four walls with a ``chamfer`` on every edge; the opening is the peg
section plus ``clearance`` per side (0.25 mm: a tight fit). Its real pose is the nominal one
plus an offset from ``offsets.OffsetDistribution`` drawn per trial; the robot only knows the
nominal pose.

Variants:

- ``peg`` (2-D search over x, y): the round peg (radius 12.5 mm) and a square hole.
- ``socket`` (3-D search over x, y, yaw): a flat plug blade (24 x 8 mm) on the peg tip and a
  slot socket whose yaw is uncertain too (``OffsetDistribution.yaw_std``).

A trial (``run_trial``) starts with the peg tip ``start_height`` above the nominal hole and
tracks a search plan with the Cartesian impedance controller at the physics rate; the target
is the plan's (x, y(, yaw)) on the surface plus the force model's superposed force. When the
tip drops ``detect_depth`` below the surface (the peg is on the chamfer) the plan pauses and
the x-y spring (and in the socket variant the yaw spring) lets go until the peg is in or has
slipped out; in the socket variant the yaw target then leads the blade's yaw in the direction
the chamfer turns it, and a blade stuck on the chamfer for ``release_time`` is released (the
search resumes; ``ChamferEpisode``). Success: the tip sinks
``success_depth`` below the surface (only possible inside the hole) before the time budget
ends.
"""

from __future__ import annotations

import dataclasses
import functools

import mujoco
import numpy as np

from robot_learning.ergodic_search.demonstrations import yaw_of, yaw_quaternions
from robot_learning.ergodic_search.force_model import ForceModel
from robot_learning.ergodic_search.impedance import CartesianImpedanceController, ImpedanceConfig
from robot_learning.ergodic_search.plan import SearchPlan
from robot_learning.robots import load_robot
from robot_learning.sim.base import SimConfig
from robot_learning.sim.mujoco_model import (build_model_spec, FLOOR_CONAFFINITY,
                                             FLOOR_CONTYPE)

TOOLS = {
    # robot: (body carrying the tip site, tip position in that body [m], peg to add or None)
    'arm': ('peg_tip', (0.0, 0.0, 0.0), None),
    'kuka_iiwa': ('lbr_iiwa_link_7', (0.0, 0.0, 0.18), (0.08, 0.18)),
}
"""Where the peg tip is on each supported robot; the iiwa gets a peg from z 0.08 to 0.18 m."""
TIP_SITE = 'search_tip'
PEG_RADIUS = 0.0125
"""[m] the project arm's peg (urdf/arm.urdf)."""
BLADE_HALF = (0.012, 0.004, 0.01)
"""Half sizes of the socket variant's plug blade [m]."""
JAM_PROGRESS = 0.0002
"""A drop that grows by this much is still sinking (the jam timer restarts) [m]."""


@dataclasses.dataclass(frozen=True)
class PegInHoleConfig:
    """The scene, the contact model and the trial rules."""

    robot: str = 'arm'
    """'arm' (the project arm) or 'kuka_iiwa' (pybullet_data)."""
    variant: str = 'peg'
    """'peg' (2-D search) or 'socket' (3-D search with yaw)."""
    sim_dt: float = 0.002
    """Physics step, also the control period of the impedance controller [s]."""
    hole_position: tuple[float, float, float] = (0.55, 0.0, 0.2)
    """Nominal hole centre on the plate surface, world frame [m]."""
    clearance: float = 0.00025
    """Gap between peg and hole wall per side [m]."""
    chamfer: float = 0.0015
    """45° chamfer on the hole edges, width [m]."""
    hole_depth: float = 0.03
    """Plate thickness [m]."""
    plate_half_size: float = 0.06
    """Half the plate edge [m]."""
    friction: float = 0.3
    """Sliding friction of peg and plate [-]."""
    start_height: float = 0.002
    """Peg tip above the surface at the start of a trial [m]."""
    success_depth: float = 0.008
    """Insertion depth that counts as success [m]."""
    detect_depth: float = 0.0005
    """Tip drop below the surface that pauses the search: the plan stops and the x-y spring
    lets go (target = the tip), so the chamfer can centre the peg while the force model keeps
    pressing [m]."""
    contact_timeconst: float = 0.005
    """MuJoCo solref time constant of the plate contacts [s]."""
    turn_delay: float = 0.05
    """Socket variant: this long after the tip dropped, the yaw target leads the tip's yaw by
    ``yaw_lead`` in the direction the chamfer has turned the blade since the drop (the
    chamfer's own torque aligns the blade only slowly against friction and damping) [s]."""
    yaw_lead: float = 0.015
    """Lead of the yaw target while the tip is on the chamfer (less than ``chamfer`` deep)
    [rad] (x the rotational stiffness: the torque); below it the slot's walls align the
    blade."""
    release_time: float = 1.2
    """Socket variant: after this long on the chamfer the search resumes (the plan clock runs
    and the x-y spring pulls the blade off the chamfer; drops are ignored until the tip is back
    above ``detect_depth``) [s]."""

    def __post_init__(self) -> None:
        """Reject unknown robots and variants."""
        if self.robot not in TOOLS:
            raise ValueError(f"robot '{self.robot}' has no peg tool; valid: {', '.join(TOOLS)}")
        if self.variant not in ('peg', 'socket'):
            raise ValueError(f"variant '{self.variant}'; valid: peg, socket")
        for name in ('turn_delay', 'yaw_lead', 'release_time'):
            if not getattr(self, name) >= 0.0:
                raise ValueError(f'PegInHoleConfig.{name} must be >= 0, got '
                                 f'{getattr(self, name)}')

    @property
    def dim(self) -> int:
        """Search dimension: 2 (peg) or 3 (socket)."""
        return 3 if self.variant == 'socket' else 2

    @property
    def opening(self) -> tuple[float, float]:
        """Half sizes of the hole opening along the hole x and y axes [m]."""
        if self.variant == 'socket':
            return BLADE_HALF[0] + self.clearance, BLADE_HALF[1] + self.clearance
        return PEG_RADIUS + self.clearance, PEG_RADIUS + self.clearance


def _add_walls(body, config: PegInHoleConfig) -> None:
    """Add the chamfered walls around the opening to ``body`` (origin: hole centre, surface)."""
    c, h, outer = config.chamfer, config.hole_depth, config.plate_half_size
    ax, ay = config.opening
    diagonal = c / np.sqrt(2.0)
    for axis in (0, 1):
        a, span = (ax, outer) if axis == 0 else (ay, ax + c)
        for sign in (1.0, -1.0):
            def place(centre_n, half_n, centre_z, half_z, quat=(1.0, 0.0, 0.0, 0.0)):
                position = np.zeros(3)
                position[axis] = sign * centre_n
                position[2] = centre_z
                size = np.zeros(3)
                size[axis], size[1 - axis], size[2] = half_n, span, half_z
                geom = body.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, pos=position, size=size,
                                     quat=quat)
                geom.contype, geom.conaffinity = FLOOR_CONTYPE, FLOOR_CONAFFINITY
                geom.friction = [config.friction, 0.005, 0.0001]
                geom.solref = [config.contact_timeconst, 1.0]
                geom.rgba = [0.6, 0.6, 0.65, 1.0]
            # Top block beyond the chamfer, lower block under it, and the chamfer itself: a
            # box turned 45° whose face joins (a, -c) to (a + c, 0).
            place(0.5 * (a + c + outer), 0.5 * (outer - a - c), -0.5 * h, 0.5 * h)
            place(a + 0.5 * c, 0.5 * c, -0.5 * (h + c), 0.5 * (h - c))
            turn = np.zeros(4)
            mujoco.mju_axisAngle2Quat(turn, np.eye(3)[1 - axis], np.pi / 4)
            place(a + c, diagonal, -c, diagonal, quat=turn)


@functools.lru_cache(maxsize=8)
def build_task_model(config: PegInHoleConfig) -> mujoco.MjModel:
    """Compile the scene of ``config`` (cached per config)."""
    robot = load_robot(config.robot)
    spec = build_model_spec(robot, SimConfig(sim_dt=config.sim_dt))
    for actuator in spec.actuators:  # position PD -> torque motor (force = ctrl)
        actuator.gainprm[0] = 1.0
        actuator.biasprm[:3] = [0.0, 0.0, 0.0]
        actuator.biastype = mujoco.mjtBias.mjBIAS_NONE
        actuator.ctrlrange = actuator.forcerange
        actuator.ctrllimited = mujoco.mjtLimited.mjLIMITED_TRUE
    body_name, tip, peg = TOOLS[config.robot]
    tool = spec.body(body_name)
    if peg is not None:
        geom = tool.add_geom(type=mujoco.mjtGeom.mjGEOM_CYLINDER, size=[PEG_RADIUS, 0.5 * (
            peg[1] - peg[0]), 0], pos=[0, 0, 0.5 * (peg[0] + peg[1])], mass=0.12)
        geom.contype, geom.conaffinity = 2, 1
    tool.add_site(name=TIP_SITE, pos=list(tip))
    for geom in spec.geoms:
        geom.friction = [config.friction, 0.005, 0.0001]
    if config.variant == 'socket':
        for geom in list(spec.geoms):  # the round peg no longer collides; the blade does
            if geom.name != 'floor' and geom.contype == 2:
                parent = geom.parent.name
                if parent in ('peg', 'peg_tip', body_name):
                    geom.contype = geom.conaffinity = 0
        blade = tool.add_geom(type=mujoco.mjtGeom.mjGEOM_BOX, size=list(BLADE_HALF),
                              pos=[tip[0], tip[1], tip[2] - BLADE_HALF[2]], mass=0.02)
        blade.contype, blade.conaffinity = 2, 1
        blade.friction = [config.friction, 0.005, 0.0001]
    plate = spec.worldbody.add_body(name='hole_plate', pos=list(config.hole_position))
    _add_walls(plate, config)
    return spec.compile()


@dataclasses.dataclass(frozen=True)
class TrialResult:
    """Outcome of one search trial."""

    success: bool
    time: float
    """Time to insertion [s]; the time budget when it failed."""
    depth: float
    """Largest insertion depth reached [m]."""
    tip_path: np.ndarray
    """(T, 3) tip positions relative to the nominal hole, every 10th physics step [m]."""


class PegInHoleSim:
    """One MuJoCo world of the task with its impedance controller."""

    def __init__(self, config: PegInHoleConfig = PegInHoleConfig(),
                 impedance: ImpedanceConfig = ImpedanceConfig()) -> None:
        """Compile the scene, solve the start pose (tip above the nominal hole)."""
        self.config = config
        self.model = build_task_model(config)
        self.data = mujoco.MjData(self.model)
        self.robot = load_robot(config.robot)
        model = self.model
        joints = [model.joint(name) for name in self.robot.joint_names]
        self.qpos_adr = np.array([joint.qposadr[0] for joint in joints])
        self.dofs = np.array([joint.dofadr[0] for joint in joints])
        self.actuators = np.array([model.actuator(f'pd_{name}').id
                                   for name in self.robot.joint_names])
        self.plate = model.body('hole_plate').id
        self.site = model.site(TIP_SITE).id
        self.hole_position = np.asarray(config.hole_position, dtype=float)
        self.start_qpos = self._solve_start()
        self.controller = CartesianImpedanceController(
            model, TIP_SITE, self.dofs, self.robot.effort_limit, self.start_qpos, impedance)

    def _solve_start(self) -> np.ndarray:
        """Damped least squares IK: tip ``start_height`` above the hole, pointing down."""
        model, data = self.model, self.data
        mujoco.mj_resetData(model, data)
        data.qpos[self.qpos_adr] = self.robot.default_joint_pos
        target = self.hole_position + [0.0, 0.0, self.config.start_height]
        down = yaw_quaternions(np.zeros(1))[0]
        jacobian = np.zeros((6, model.nv))
        error = np.zeros(3)
        current = np.zeros(4)
        for _ in range(200):
            mujoco.mj_kinematics(model, data)
            mujoco.mj_comPos(model, data)
            mujoco.mju_mat2Quat(current, data.site_xmat[self.site])
            mujoco.mju_subQuat(error, down, current)
            residual = np.concatenate([target - data.site_xpos[self.site],
                                       data.site_xmat[self.site].reshape(3, 3) @ error])
            if np.linalg.norm(residual) < 1e-9:
                break
            mujoco.mj_jacSite(model, data, jacobian[:3], jacobian[3:], self.site)
            columns = jacobian[:, self.dofs]
            step = columns.T @ np.linalg.solve(columns @ columns.T + 1e-6 * np.eye(6), residual)
            data.qpos[self.qpos_adr] += step
        return data.qpos[self.qpos_adr].copy()

    def reset(self, offset: np.ndarray) -> None:
        """Put the hole at nominal + offset (x, y [m](, yaw [rad])) and the arm at the start."""
        model, data = self.model, self.data
        offset = np.asarray(offset, dtype=float)
        model.body_pos[self.plate] = self.hole_position + [offset[0], offset[1], 0.0]
        yaw = offset[2] if len(offset) > 2 else 0.0
        model.body_quat[self.plate] = [np.cos(0.5 * yaw), 0.0, 0.0, np.sin(0.5 * yaw)]
        mujoco.mj_resetData(model, data)
        data.qpos[self.qpos_adr] = self.start_qpos
        mujoco.mj_forward(model, data)

    @property
    def tip(self) -> np.ndarray:
        """(3,) tip position relative to the nominal hole [m]."""
        return self.data.site_xpos[self.site] - self.hole_position

    def _tip_yaw_quat(self) -> np.ndarray:
        """Downward orientation at the tip's current yaw (the yaw spring lets go)."""
        quat = np.zeros(4)
        mujoco.mju_mat2Quat(quat, self.data.site_xmat[self.site])
        return yaw_quaternions(yaw_of(quat[None]))[0]

    def step(self, target_position: np.ndarray, target_quat: np.ndarray,
             target_velocity: np.ndarray, force: np.ndarray) -> None:
        """Compute the impedance torques and advance one physics step."""
        tau = self.controller.torque(self.data, target_position, target_quat, target_velocity,
                                     force)
        self.data.ctrl[self.actuators] = tau
        mujoco.mj_step(self.model, self.data)

    def run_trial(self, plan: SearchPlan, offset: np.ndarray,
                  force_model: ForceModel | None = None, record_every: int = 10) -> TrialResult:
        """Track ``plan`` against a hole at ``offset`` until insertion or the end of the plan.

        Args:
            plan: Search plan in the hole frame (d = 2 or 3, as the variant).
            offset: (d,) true hole offset from the nominal pose [m(, rad)].
            force_model: Superposed force as a function of the plan velocity; None applies
                none (then nothing presses the peg down: only useful for tests).
            record_every: Keep the tip position every this many physics steps.
        """
        config = self.config
        self.reset(offset)
        dt = config.sim_dt
        steps = int(round(plan.duration / dt))
        # Plan references on the physics grid, all at once.
        times = np.arange(steps + 1) * dt
        grid = np.arange(len(plan.positions)) * plan.dt
        reference = np.stack([np.interp(times, grid, plan.positions[:, i])
                              for i in range(plan.positions.shape[1])], axis=1)
        velocity = np.gradient(reference, dt, axis=0)
        forces = (force_model.predict(velocity[:, :force_model.dim]) if force_model is not None
                  else np.zeros((len(times), 3)))
        yaw = reference[:, 2] if reference.shape[1] > 2 else np.zeros(len(times))
        quats = yaw_quaternions(yaw)
        targets = np.column_stack([reference[:, :2], np.zeros(len(times))]) + self.hole_position
        twists = np.zeros((len(times), 6))
        twists[:, :2] = velocity[:, :2]
        if reference.shape[1] > 2:
            twists[:, 5] = velocity[:, 2]
        wrenches = np.zeros((len(times), 6))
        wrenches[:, :3] = forces
        tip = self.data.site_xpos[self.site]
        surface = self.hole_position[2]
        still = np.zeros(6)
        pressing = np.zeros(6)
        pressing[:3] = forces[0] if force_model is None else force_model.predict(
            np.zeros(force_model.dim))
        path = []
        depth = 0.0
        index = 0  # plan clock on the physics grid: it stops while the peg drops in
        chamfer = ChamferEpisode() if len(offset) > 2 else None  # socket: turn, release
        for step in range(steps + 1):
            drop = surface - tip[2]
            depth = max(depth, drop)
            if step % record_every == 0:
                path.append(self.tip.copy())
            if depth >= config.success_depth:
                return TrialResult(True, step * dt, depth, np.asarray(path))
            dropped = drop > config.detect_depth
            if chamfer is not None:
                yaw = yaw_of(self._tip_yaw_quat()[None])[0]
                dropped = chamfer.update(dropped, drop, yaw, dt, config)
            if dropped:
                target = targets[index].copy()
                target[:2] = tip[:2]
                quat = (quats[index] if chamfer is None else
                        yaw_quaternions(np.array([chamfer.target_yaw(yaw, drop, config)]))[0])
                self.step(target, quat, still, pressing)
            else:
                self.step(targets[index], quats[index], twists[index], wrenches[index])
                index = min(index + 1, steps)
        return TrialResult(False, plan.duration, depth, np.asarray(path))


class ChamferEpisode:
    """Socket variant: what the blade does on the chamfer (turn toward alignment, release).

    From the drop on, the yaw spring lets go (the target follows the tip's yaw). After
    ``turn_delay`` the target leads the tip's yaw by ``yaw_lead`` in the direction the chamfer
    turned the blade since the drop. When the drop has not grown by ``JAM_PROGRESS`` for
    ``release_time`` the blade is stuck: the search resumes and drops are ignored until the tip
    is back above ``detect_depth``.
    """

    def __init__(self) -> None:
        """Start outside any episode."""
        self.steps = 0  # physics steps since the drop
        self.stalled = 0  # physics steps since the drop last grew
        self.deepest = 0.0
        self.drop_yaw = 0.0
        self.turn = 0.0
        self.released = False

    def update(self, dropped: bool, drop: float, yaw: float, dt: float,
               config: PegInHoleConfig) -> bool:
        """Advance one physics step; return whether the search stays paused on the chamfer."""
        self.released = self.released and dropped
        if not dropped or self.released:
            self.steps = self.stalled = 0
            self.deepest, self.turn = 0.0, 0.0
            return False
        if self.steps == 0:
            self.drop_yaw, self.deepest = yaw, drop
        self.steps += 1
        self.stalled += 1
        if drop > self.deepest + JAM_PROGRESS:
            self.deepest, self.stalled = drop, 0
        if self.turn == 0.0 and self.steps * dt >= config.turn_delay:
            self.turn = 1.0 if yaw >= self.drop_yaw else -1.0
        if self.stalled * dt > config.release_time:
            self.released = True
            self.steps = self.stalled = 0
            return False
        return True

    def target_yaw(self, yaw: float, drop: float, config: PegInHoleConfig) -> float:
        """Return the yaw target [rad]: leading on the chamfer, following below it."""
        return yaw + (self.turn * config.yaw_lead if drop < config.chamfer else 0.0)
