# SPDX-License-Identifier: Apache-2.0
"""The MuJoCo CPU backend: batched stepping through ``mujoco.rollout`` threads.

PD control runs inside MuJoCo as position actuators (``gain = strength * kp``,
``bias = -strength * (kp q + kd q_dot)``, force-limited to the effort limits), so one control
step is one ``rollout`` call of ``decimation`` physics steps for all environments: no Python
runs per physics sub-step. Action latency is applied by giving the rollout a per-sub-step
control sequence. Every environment whose dynamics differ from nominal gets its own copy of
the compiled model ("one compiled model per dynamics variant").
"""

from __future__ import annotations

import copy
import os

import mujoco
from mujoco import rollout
import numpy as np

from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.actuation import LatencyBuffer, max_latency_steps, PushSchedule
from robot_learning.sim.base import SimBackend, SimConfig, SimState
from robot_learning.sim.dynamics import latency_substeps, PARAMETERS
from robot_learning.sim.mujoco_model import compile_model, read_state

STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS


class MujocoBackend(SimBackend):
    """``num_envs`` MuJoCo worlds of one robot, stepped by a ``mujoco.rollout`` thread pool."""

    def __init__(self, robot: RobotSpec, num_envs: int, config: SimConfig | None = None) -> None:
        super().__init__(robot, num_envs, config or SimConfig())
        self.nominal_model, self.layout = compile_model(robot, self.config)
        model = self.nominal_model
        self.models: list[mujoco.MjModel] = [model] * num_envs
        self._own_model = np.zeros(num_envs, dtype=bool)
        self.num_threads = min(self.config.num_threads or os.cpu_count() or 1, num_envs)
        self.datas = [mujoco.MjData(model) for _ in range(self.num_threads)]
        # One thread means stepping on the calling thread (rollout's nthread=0).
        self._pool = rollout.Rollout(nthread=self.num_threads if self.num_threads > 1 else 0)

        self.nstate = mujoco.mj_stateSize(model, STATE_SPEC)
        self._qpos = slice(1, 1 + model.nq)
        self._qvel = slice(1 + model.nq, 1 + model.nq + model.nv)
        decimation = self.config.decimation
        self.state = np.zeros((num_envs, self.nstate))
        self._state_out = np.zeros((num_envs, decimation, self.nstate))
        self._sensor_out = np.zeros((num_envs, decimation, model.nsensordata))
        self.sensordata = np.zeros((num_envs, model.nsensordata))
        self._control = np.zeros((num_envs, decimation, model.nu))
        self.latency = LatencyBuffer(num_envs, robot.num_joints, decimation,
                                     max_latency_steps(self.config.sim_dt))
        self.pushes = PushSchedule(num_envs)
        self.nonfinite_resets = 0
        """Environments found with a non-finite state (and reset) since construction."""

        data = mujoco.MjData(model)
        mujoco.mj_resetData(model, data)
        initial = np.zeros(self.nstate)
        mujoco.mj_getState(model, data, initial, STATE_SPEC)
        self.state[:] = initial
        self.reset(np.arange(num_envs))

    # -- dynamics ---------------------------------------------------------------------------

    def _apply_dynamics(self, env_ids: np.ndarray) -> None:
        nominal, layout, robot = self.nominal_model, self.layout, self.robot
        for env in env_ids:
            values = {name: self.dynamics[name][env] for name in PARAMETERS}
            is_nominal = all(values[name] == param.nominal for name, param in PARAMETERS.items()
                             if name in _MODEL_PARAMETERS)
            if is_nominal:
                self.models[env] = nominal
                self._own_model[env] = False
                continue
            if not self._own_model[env]:
                self.models[env] = copy.copy(nominal)
                self._own_model[env] = True
            model = self.models[env]
            bodies = layout.robot_bodies
            scale = values['link_mass_scale']
            model.body_mass[bodies] = nominal.body_mass[bodies] * scale
            model.body_inertia[bodies] = nominal.body_inertia[bodies] * scale
            base = layout.base_body
            base_mass = nominal.body_mass[base] * scale
            added = values['added_base_mass']
            model.body_mass[base] = base_mass + added
            model.body_inertia[base] = (nominal.body_inertia[base] * scale
                                        * (base_mass + added) / base_mass)
            model.body_ipos[base] = nominal.body_ipos[base] + [
                values['base_com_offset_x'], values['base_com_offset_y'],
                values['base_com_offset_z']]
            model.geom_friction[:, 0] = values['ground_friction']
            dofs = layout.joint_dof
            model.dof_damping[dofs] = values['joint_damping']
            model.dof_armature[dofs] = robot.armature * values['armature_scale']
            model.dof_frictionloss[dofs] = values['friction_loss']
            strength = values['motor_strength']
            kp = robot.kp * values['kp_scale'] * strength
            kd = robot.kd * values['kd_scale'] * strength
            acts = layout.actuators
            model.actuator_gainprm[acts, 0] = kp
            model.actuator_biasprm[acts, 1] = -kp
            model.actuator_biasprm[acts, 2] = -kd

    # -- reset and step ---------------------------------------------------------------------

    def _reset(self, env_ids: np.ndarray, state: SimState) -> None:
        rows = self.state[env_ids]
        qpos = rows[:, self._qpos]
        qvel = rows[:, self._qvel]
        qpos[:] = self.nominal_model.qpos0
        qvel[:] = 0.0
        if self.layout.floating:
            qpos[:, 0:3] = state.base_pos
            qpos[:, 3:7] = state.base_quat
            qvel[:, 0:3] = state.base_lin_vel
            qvel[:, 3:6] = state.base_ang_vel
        qpos[:, self.layout.joint_qpos] = state.joint_pos
        qvel[:, self.layout.joint_dof] = state.joint_vel
        rows[:, 0] = 0.0  # time
        rows[:, self._qpos] = qpos
        rows[:, self._qvel] = qvel
        self.state[env_ids] = rows
        self.sensordata[env_ids] = 0.0
        self.latency.reset(env_ids, np.asarray(state.joint_pos, dtype=float))
        self.pushes.reset(env_ids)

    def step(self, joint_targets: np.ndarray) -> None:
        latency = latency_substeps(self.dynamics['action_latency'], self.config.sim_dt)
        self._control[:] = self.latency.push(np.asarray(joint_targets, dtype=float), latency)
        if self.layout.floating:
            pushed, kicks = self.pushes.due(self.dynamics, self.control_dt, self.rng)
            if pushed.size:
                self.state[pushed, self._qvel.start:self._qvel.start + 2] += kicks
        self._pool.rollout(
            self.models, self.datas, self.state, self._control,
            control_spec=mujoco.mjtState.mjSTATE_CTRL.value, skip_checks=True,
            nstep=self.config.decimation, initial_warmstart=None,
            state=self._state_out, sensordata=self._sensor_out, chunk_size=None)
        self.state[:] = self._state_out[:, -1]
        self.sensordata[:] = self._sensor_out[:, -1]

    def get_state(self) -> SimState:
        return read_state(self.layout, self.nominal_model, self.state[:, self._qpos],
                          self.state[:, self._qvel], self.sensordata, self.dynamics, self.rng)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


_MODEL_PARAMETERS = (
    'link_mass_scale', 'added_base_mass', 'base_com_offset_x', 'base_com_offset_y',
    'base_com_offset_z', 'ground_friction', 'joint_damping', 'armature_scale', 'friction_loss',
    'kp_scale', 'kd_scale', 'motor_strength')
"""Parameters that live in the compiled model (the rest are applied by the backend)."""
