# SPDX-License-Identifier: Apache-2.0
"""The MuJoCo Warp backend: all worlds in one batched ``mujoco_warp`` model on a GPU (or CPU).

The model is the ``mujoco`` backend's (``compile_model``: same URDF import, position actuators
as the PD law, sensors), put on the Warp device with ``mujoco_warp.put_model``; one
``mujoco_warp.Data`` holds ``num_envs`` worlds. PD runs inside the physics step (position
actuators, ``gain = strength kp``, ``bias = -strength (kp q + kd q_dot)``, force-limited), and
decimation is ``decimation`` calls of ``mujoco_warp.step`` per control step, captured once in a
CUDA graph on a GPU. Latency, pushes and joint targets live in torch tensors on the same
device; state is shared with torch without copies (``wp.to_torch``, see ``torch_state``).

Per-world dynamics: the model fields that the 12 model parameters touch (``body_mass``,
``body_inertia``, ``body_ipos``, ``geom_friction``, ``dof_damping``, ``dof_armature``,
``dof_frictionloss``, ``actuator_gainprm``, ``actuator_biasprm``) are expanded to one row per
world (MuJoCo Warp indexes batched fields with ``world % rows``). The other 6 (latency, the
three sensor noises, pushes) are applied by the backend per world. All 18 parameters are
therefore per world; should a mujoco_warp version not batch one of the fields, setting a
parameter that needs it raises ``SimulationError`` naming it (``unsupported_parameters``).

Registered twice: ``mujoco_warp`` (Warp's first CUDA device) and ``mujoco_warp_cpu`` (Warp's
CPU device: slow, for tests and CI without a GPU).
"""

from __future__ import annotations

import copy

import mujoco
import numpy as np

from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.actuation import max_latency_steps, PushSchedule
from robot_learning.sim.base import SimBackend, SimConfig, SimState, SimulationError
from robot_learning.sim.dynamics import latency_substeps, PARAMETERS
from robot_learning.sim.mujoco_model import compile_model, read_state

INSTALL_HINT = ("install it with pip install 'mujoco-warp==4.0.0' 'warp-lang==1.19.0' (or "
                "pip install -e '.[warp]'), or use the CPU backend (task.backend=mujoco)")

FIELD_PARAMETERS = {
    'body_mass': ('link_mass_scale', 'added_base_mass'),
    'body_inertia': ('link_mass_scale', 'added_base_mass'),
    'body_ipos': ('base_com_offset_x', 'base_com_offset_y', 'base_com_offset_z'),
    'geom_friction': ('ground_friction',),
    'dof_damping': ('joint_damping',),
    'dof_armature': ('armature_scale',),
    'dof_frictionloss': ('friction_loss',),
    'actuator_gainprm': ('kp_scale', 'kd_scale', 'motor_strength'),
    'actuator_biasprm': ('kp_scale', 'kd_scale', 'motor_strength'),
}
"""Model field -> the dynamics parameters written into it."""


def _import_warp():
    try:
        import mujoco_warp
        import warp
    except ImportError as error:
        raise SimulationError(f'the mujoco_warp backend needs mujoco_warp and warp: '
                              f'{INSTALL_HINT} ({error})') from error
    return warp, mujoco_warp


def resolve_device(warp, device: str) -> str:
    """Return a Warp device name, or raise SimulationError when a GPU is asked for but absent."""
    if device.startswith('cuda'):
        if warp.get_cuda_device_count() == 0:
            raise SimulationError(
                f"mujoco_warp device '{device}' asked for, but Warp finds no CUDA GPU here: "
                "use backend 'mujoco_warp_cpu' (Warp's CPU device, slow) or 'mujoco' (the "
                'multi-threaded CPU backend), or run on a machine with an NVIDIA GPU')
    elif device != 'cpu':
        raise SimulationError(f"unknown Warp device '{device}'; valid: 'cpu', 'cuda', "
                              "'cuda:<index>'")
    return device


class MujocoWarpBackend(SimBackend):
    """``num_envs`` MuJoCo Warp worlds of one robot on one Warp device."""

    default_device = 'cuda:0'

    def __init__(self, robot: RobotSpec, num_envs: int, config: SimConfig | None = None,
                 device: str | None = None) -> None:
        super().__init__(robot, num_envs, config or SimConfig())
        wp, mjw = _import_warp()
        import torch
        self._wp, self._mjw, self._torch = wp, mjw, torch
        wp.config.quiet = True
        wp.init()
        self.device = resolve_device(wp, device or self.default_device)
        self.nominal_model, self.layout = compile_model(robot, self.config)
        # mujoco_warp never auto-resets (unstable worlds come out non-finite, as with the
        # 'mujoco' backend) and rejects the flag that says so.
        mjm = copy.copy(self.nominal_model)
        mjm.opt.disableflags &= ~int(mujoco.mjtDisableBit.mjDSBL_AUTORESET)
        with wp.ScopedDevice(self.device):
            try:
                self.model = mjw.put_model(mjm)
            except NotImplementedError as error:
                raise SimulationError(
                    f'{robot.urdf_path}: a model feature that mujoco_warp does not support: '
                    f'{error} Change SimConfig (e.g. integrator, friction_cone) or the URDF, '
                    "or use the 'mujoco' backend") from error
            contacts = max(8, 4 * len(robot.contact_bodies) + 8)
            self.data = mjw.make_data(mjm, nworld=num_envs, nconmax=contacts,
                                      njmax=max(64, 6 * contacts))
            self._batched_fields()
        self.unsupported_parameters = tuple(sorted({
            name for field, names in FIELD_PARAMETERS.items()
            if field not in self._fields for name in names}))
        """Parameters this mujoco_warp version cannot hold per world (normally none)."""
        t = torch
        self.torch_device = t.device('cuda', int(self.device.split(':')[1]) if ':' in
                                     self.device else 0) if self.device.startswith('cuda') \
            else t.device('cpu')
        self._qpos = wp.to_torch(self.data.qpos)
        """(N, nq) shares memory with the device data."""
        self._qvel = wp.to_torch(self.data.qvel)
        self._ctrl = wp.to_torch(self.data.ctrl)
        self._sensor = wp.to_torch(self.data.sensordata)
        self._time = wp.to_torch(self.data.time)
        self._warmstart = wp.to_torch(self.data.qacc_warmstart)
        decimation = self.config.decimation
        self._depth = max_latency_steps(self.config.sim_dt) // decimation + 2
        self._history = t.zeros((num_envs, self._depth, robot.num_joints),
                                dtype=self._ctrl.dtype, device=self.torch_device)
        self._substep = t.arange(decimation, device=self.torch_device)
        self._joint_qpos = t.as_tensor(self.layout.joint_qpos, device=self.torch_device)
        self._joint_dof = t.as_tensor(self.layout.joint_dof, device=self.torch_device)
        self._act = t.as_tensor(self.layout.actuators, device=self.torch_device)
        self.pushes = PushSchedule(num_envs)
        self._graph = None
        self.reset(np.arange(num_envs))

    # -- device arrays ----------------------------------------------------------------------

    def _batched_fields(self) -> None:
        """Give every per-world dynamics field one row per world on the device."""
        wp, model, n = self._wp, self.model, self.num_envs
        self._fields = {}
        self._nominal_fields = {}
        for field in FIELD_PARAMETERS:
            array = getattr(model, field, None)
            if array is None or array.ndim < 2:
                continue  # not batched in this mujoco_warp version
            nominal = array.numpy()[:1]
            rows = np.repeat(nominal, n, axis=0)
            batched = wp.array(rows, dtype=array.dtype, device=self.device)
            setattr(model, field, batched)
            self._fields[field] = batched
            self._nominal_fields[field] = nominal[0].copy()

    def torch_state(self) -> dict:
        """Return device tensors that share memory with the simulation (no copies).

        Keys: ``qpos`` (N, nq), ``qvel`` (N, nv), ``ctrl`` (N, nu), ``sensordata``
        (N, nsensordata), in MuJoCo's layout (``self.layout`` gives the indices). They stay
        valid for the backend's lifetime; writes go straight into the simulation.
        """
        return {'qpos': self._qpos, 'qvel': self._qvel, 'ctrl': self._ctrl,
                'sensordata': self._sensor}

    # -- dynamics ---------------------------------------------------------------------------

    def _apply_dynamics(self, env_ids: np.ndarray) -> None:
        for name in self.unsupported_parameters:
            if np.any(self.dynamics[name][env_ids] != PARAMETERS[name].nominal):
                raise SimulationError(
                    f"this mujoco_warp version cannot set '{name}' per world; leave it at "
                    f"{PARAMETERS[name].nominal:g} or use the 'mujoco' backend")
        layout, robot, values = self.layout, self.robot, self.dynamics
        host = {field: array.numpy() for field, array in self._fields.items()}
        nominal = self._nominal_fields
        scale = values['link_mass_scale'][env_ids]
        added = values['added_base_mass'][env_ids]
        bodies, base = layout.robot_bodies, layout.base_body
        if 'body_mass' in host:
            mass = host['body_mass']
            mass[np.ix_(env_ids, bodies)] = nominal['body_mass'][bodies] * scale[:, None]
            base_mass = nominal['body_mass'][base] * scale
            mass[env_ids, base] = base_mass + added
        if 'body_inertia' in host:
            inertia = host['body_inertia']
            inertia[env_ids[:, None], bodies] = (nominal['body_inertia'][bodies][None]
                                                 * scale[:, None, None])
            base_mass = nominal['body_mass'][base] * scale
            inertia[env_ids, base] = (nominal['body_inertia'][base][None] * scale[:, None]
                                      * ((base_mass + added) / base_mass)[:, None])
        if 'body_ipos' in host:
            offset = np.stack([values[f'base_com_offset_{a}'][env_ids] for a in 'xyz'], 1)
            host['body_ipos'][env_ids, base] = nominal['body_ipos'][base] + offset
        if 'geom_friction' in host:
            host['geom_friction'][env_ids, :, 0] = values['ground_friction'][env_ids, None]
        dofs = layout.joint_dof
        if 'dof_damping' in host:
            host['dof_damping'][np.ix_(env_ids, dofs)] = values['joint_damping'][env_ids, None]
        if 'dof_armature' in host:
            host['dof_armature'][np.ix_(env_ids, dofs)] = (
                robot.armature[None] * values['armature_scale'][env_ids, None])
        if 'dof_frictionloss' in host:
            host['dof_frictionloss'][np.ix_(env_ids, dofs)] = \
                values['friction_loss'][env_ids, None]
        strength = values['motor_strength'][env_ids, None]
        kp = robot.kp[None] * values['kp_scale'][env_ids, None] * strength
        kd = robot.kd[None] * values['kd_scale'][env_ids, None] * strength
        acts = layout.actuators
        if 'actuator_gainprm' in host:
            host['actuator_gainprm'][env_ids[:, None], acts, 0] = kp
        if 'actuator_biasprm' in host:
            host['actuator_biasprm'][env_ids[:, None], acts, 1] = -kp
            host['actuator_biasprm'][env_ids[:, None], acts, 2] = -kd
        for field, array in self._fields.items():
            array.assign(host[field])

    # -- reset and step ---------------------------------------------------------------------

    def _reset(self, env_ids: np.ndarray, state: SimState) -> None:
        t = self._torch
        ids = t.as_tensor(env_ids, device=self.torch_device)

        def tensor(value) -> t.Tensor:
            return t.as_tensor(np.asarray(value), dtype=self._qpos.dtype,
                               device=self.torch_device)

        qpos = tensor(np.tile(self.nominal_model.qpos0, (env_ids.size, 1)))
        qvel = t.zeros((env_ids.size, self._qvel.shape[1]), dtype=qpos.dtype,
                       device=self.torch_device)
        if self.layout.floating:
            qpos[:, 0:3] = tensor(state.base_pos)
            qpos[:, 3:7] = tensor(state.base_quat)
            qvel[:, 0:3] = tensor(state.base_lin_vel)
            qvel[:, 3:6] = tensor(state.base_ang_vel)
        joint_pos = tensor(state.joint_pos)
        qpos[:, self._joint_qpos] = joint_pos
        qvel[:, self._joint_dof] = tensor(state.joint_vel)
        self._qpos[ids] = qpos
        self._qvel[ids] = qvel
        self._time[ids] = 0.0
        self._warmstart[ids] = 0.0
        self._sensor[ids] = 0.0
        self._ctrl[ids[:, None], self._act] = joint_pos
        self._history[ids] = joint_pos[:, None, :]
        self.pushes.reset(env_ids)

    def _physics(self) -> None:
        """Run one physics step; on a GPU, replay a CUDA graph captured on the first call.

        The graph is captured only when Warp's memory pool is enabled on the device (it is by
        default); field writes (``set_dynamics``, resets) are in place, so the graph stays valid.
        """
        wp = self._wp
        if not self.device.startswith('cuda'):
            self._mjw.step(self.model, self.data)
            return
        if self._graph is None:
            self._graph = False
            if wp.is_mempool_enabled(self.device):
                self._mjw.step(self.model, self.data)  # compile every kernel before capture
                with wp.ScopedCapture(device=self.device) as capture:
                    self._mjw.step(self.model, self.data)
                self._graph = capture.graph
                return  # the warm-up step advanced the worlds once; capture runs nothing
        if self._graph:
            wp.capture_launch(self._graph)
        else:
            self._mjw.step(self.model, self.data)

    def step(self, joint_targets) -> None:
        """Advance one control step toward ``joint_targets`` (N, J) [rad], numpy or torch."""
        t = self._torch
        targets = t.as_tensor(joint_targets, dtype=self._history.dtype,
                              device=self.torch_device)
        self._history = t.roll(self._history, 1, dims=1)
        self._history[:, 0] = targets
        latency = t.as_tensor(latency_substeps(self.dynamics['action_latency'],
                                               self.config.sim_dt), device=self.torch_device)
        decimation = self.config.decimation
        age = t.ceil((latency[:, None] - self._substep[None, :]) / decimation)
        age = age.clamp(0, self._depth - 1).long()
        per_substep = t.take_along_dim(self._history, age[:, :, None], dim=1)  # (N, D, J)
        if self.layout.floating:
            pushed, kicks = self.pushes.due(self.dynamics, self.control_dt, self.rng)
            if pushed.size:
                ids = t.as_tensor(pushed, device=self.torch_device)
                self._qvel[ids, 0:2] += t.as_tensor(kicks, dtype=self._qvel.dtype,
                                                    device=self.torch_device)
        wp = self._wp
        cuda = self.device.startswith('cuda')
        with wp.ScopedDevice(self.device):
            for substep in range(decimation):
                self._ctrl[:, self._act] = per_substep[:, substep]
                if cuda:  # torch's writes land before Warp's stream reads them, and back
                    t.cuda.current_stream(self.torch_device).synchronize()
                self._physics()
                if cuda:
                    wp.synchronize_stream(wp.get_stream(self.device))

    def get_state(self) -> SimState:
        qpos = self._qpos.cpu().numpy().astype(np.float64)
        qvel = self._qvel.cpu().numpy().astype(np.float64)
        sensor = self._sensor.cpu().numpy().astype(np.float64)
        return read_state(self.layout, self.nominal_model, qpos, qvel, sensor, self.dynamics,
                          self.rng)


class MujocoWarpCpuBackend(MujocoWarpBackend):
    """The MuJoCo Warp backend on Warp's CPU device (tests and CI; slow)."""

    default_device = 'cpu'
