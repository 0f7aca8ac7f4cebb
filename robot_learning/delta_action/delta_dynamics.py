# SPDX-License-Identifier: Apache-2.0
"""Delta-dynamics baseline: an MLP predicting the real-minus-simulated next state.

``f(s_t, a_t) ~= s_real_{t+1} - f_sim(s_t, a_t)`` (the reference's DeltaDynamics_NN: Linear-
ReLU-Linear-ReLU-Linear, Adam 1e-3). State vector (19 + 2J): base position (3, world), base
quaternion (4), base linear velocity (3, world), base angular velocity (3, base frame), joint
positions (J), joint velocities (J). The model works in the heading frame of the current
state (the world frame turned by the base yaw), so that what it learns does not depend on
where the robot faces: its input is the state in that frame without the base x, y
(translation and heading invariance) plus the raw action a_t, and its output, the residual in
that frame, is turned back into the world (a world-frame model meets headings in the held-out
recordings that it never saw and diverges in 1 s rollouts).

Multi-step loss: each gradient step rolls a batch of recorded clips out for K steps in the
simulator, every simulated next state corrected by the model and written back into the engine
(``backend.reset`` to the corrected state), and sums the normalised squared errors to the
recorded states over the K steps. The engine is not differentiable: each step's simulated
state enters as a constant and the gradient flows through the K corrections. K grows linearly
from 1 to ``rollout_steps`` over the first half of training.
"""

from __future__ import annotations

import os
import pathlib
from typing import Callable

import numpy as np
import torch

from robot_learning.atomic_write import atomic_path
from robot_learning.delta_action.clips import ClipSet
from robot_learning.delta_action.config import DeltaConfig
from robot_learning.delta_action.model import raw_actions
from robot_learning.robots.registry import load_robot
from robot_learning.robots.spec import RobotSpec
from robot_learning.rotations import (heading_of, quat_conjugate, quat_multiply,
                                      quat_rotate_inverse, yaw_quat)
from robot_learning.sim.base import SimState
from robot_learning.sim.registry import make_backend

MODEL_FILE = 'delta_dynamics.pt'


def state_vector(state: SimState) -> np.ndarray:
    """Return the (N, 13 + 2J) state vector of a SimState."""
    return np.concatenate([state.base_pos, state.base_quat, state.base_lin_vel,
                           state.base_ang_vel, state.joint_pos, state.joint_vel], axis=1)


def with_vector(state: SimState, vector: np.ndarray) -> SimState:
    """Return a copy of ``state`` with the quantities of ``vector`` (quaternion normalised)."""
    joints = state.joint_pos.shape[1]
    quat = vector[:, 3:7] / np.linalg.norm(vector[:, 3:7], axis=1, keepdims=True)
    return SimState(base_pos=vector[:, 0:3].copy(), base_quat=quat,
                    base_lin_vel=vector[:, 7:10].copy(), base_ang_vel=vector[:, 10:13].copy(),
                    joint_pos=vector[:, 13:13 + joints].copy(),
                    joint_vel=vector[:, 13 + joints:13 + 2 * joints].copy(),
                    joint_torque=state.joint_torque.copy(),
                    contact_force=state.contact_force.copy(),
                    contact_pos=state.contact_pos.copy())


def heading_frame(state: SimState) -> np.ndarray:
    """Return the heading quaternions (N, 4): the base yaw alone.

    Signed so that the base orientation in that frame has w >= 0 (q and -q are one rotation;
    the model sees one of them).
    """
    frame = yaw_quat(heading_of(state.base_quat))
    local_w = quat_multiply(quat_conjugate(frame), state.base_quat)[:, 0]
    return frame * np.where(local_w < 0.0, -1.0, 1.0)[:, None]


def to_heading_frame(vector: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """Express state vectors or residuals (N, 13 + 2J) in heading frames (N, 4).

    Base position and linear velocity are rotated, the quaternion is premultiplied by the
    inverse heading; angular velocity (base frame) and joints are unchanged.
    """
    local = vector.copy()
    local[:, 0:3] = quat_rotate_inverse(frame, vector[:, 0:3])
    local[:, 3:7] = quat_multiply(quat_conjugate(frame), vector[:, 3:7])
    local[:, 7:10] = quat_rotate_inverse(frame, vector[:, 7:10])
    return local


def from_heading_frame(local: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """Turn residuals (N, 13 + 2J) in heading frames (N, 4) back into the world.

    Differentiable in ``local``: rotations about z, and the quaternion part premultiplied by
    the heading quaternion (cw, 0, 0, sw), both linear maps.
    """
    cw, sw = frame[:, 0], frame[:, 3]
    c, s = cw * cw - sw * sw, 2.0 * cw * sw

    def planar(x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
        return [c * x - s * y, s * x + c * y]

    qw, qx, qy, qz = local[:, 3], local[:, 4], local[:, 5], local[:, 6]
    columns = [*planar(local[:, 0], local[:, 1]), local[:, 2],
               cw * qw - sw * qz, cw * qx - sw * qy, cw * qy + sw * qx, cw * qz + sw * qw,
               *planar(local[:, 7], local[:, 8]), local[:, 9]]
    return torch.cat([torch.stack(columns, dim=1), local[:, 10:]], dim=1)


def model_input(state: SimState, targets: np.ndarray, robot: RobotSpec,
                frame: np.ndarray | None = None) -> np.ndarray:
    """Return the model input (N, 11 + 3J): heading-frame state without base x, y; raw action.

    ``frame`` is ``heading_frame(state)`` when the caller already has it.
    """
    frame = heading_frame(state) if frame is None else frame
    local = to_heading_frame(state_vector(state), frame)
    return np.concatenate([local[:, 2:], raw_actions(targets, robot)], axis=1)


def world_residual(model: torch.nn.Module, state: SimState, targets: np.ndarray,
                   robot: RobotSpec) -> torch.Tensor:
    """Return the model's residual of the next state in the world frame, (N, 13 + 2J)."""
    frame = heading_frame(state)
    features = torch.as_tensor(model_input(state, targets, robot, frame), dtype=torch.float32)
    return from_heading_frame(model(features), torch.as_tensor(frame, dtype=torch.float32))


class DeltaDynamicsModel(torch.nn.Module):
    """MLP with input/output normalisation: (state, action) features -> state residual."""

    def __init__(self, input_dim: int, output_dim: int, hidden_dims: tuple[int, ...]) -> None:
        super().__init__()
        layers, width = [], input_dim
        for hidden in hidden_dims:
            layers += [torch.nn.Linear(width, hidden), torch.nn.ReLU()]
            width = hidden
        layers.append(torch.nn.Linear(width, output_dim))
        torch.nn.init.zeros_(layers[-1].weight)  # start as the plain simulator
        torch.nn.init.zeros_(layers[-1].bias)
        self.net = torch.nn.Sequential(*layers)
        self.register_buffer('input_mean', torch.zeros(input_dim))
        self.register_buffer('input_std', torch.ones(input_dim))
        self.register_buffer('output_std', torch.ones(output_dim))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Return the predicted residual of the next state (N, output_dim), in state units."""
        return self.net((features - self.input_mean) / self.input_std) * self.output_std


class DeltaDynamicsCorrection:
    """``correction(state, targets, simulated_next) -> simulated_next + f(state, a)``."""

    def __init__(self, model: DeltaDynamicsModel, robot: RobotSpec) -> None:
        self.model, self.robot = model, robot

    def __call__(self, state: SimState, targets: np.ndarray, simulated: SimState) -> SimState:
        """Return the corrected next state."""
        with torch.inference_mode():
            residual = world_residual(self.model, state, targets, self.robot)
        return with_vector(simulated, state_vector(simulated) + residual.numpy().astype(float))

    def save(self, folder: str | os.PathLike) -> pathlib.Path:
        """Write ``delta_dynamics.pt`` (TorchScript) into ``folder`` atomically."""
        path = pathlib.Path(folder) / MODEL_FILE
        with atomic_path(path) as temporary:
            torch.jit.save(torch.jit.script(self.model), str(temporary))
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike, robot: RobotSpec) -> DeltaDynamicsCorrection:
        """Load ``delta_dynamics.pt`` from ``folder``."""
        path = pathlib.Path(folder) / MODEL_FILE
        if not path.is_file():
            raise FileNotFoundError(f'{folder}: no {MODEL_FILE} (not a delta-dynamics model)')
        model = torch.jit.load(str(path), map_location='cpu')
        model.eval()
        return cls(model, robot)


def fit_delta_dynamics(config: DeltaConfig, clips: ClipSet,
                       progress: Callable[[int, float, int], None] | None = None
                       ) -> DeltaDynamicsCorrection:
    """Train the delta-dynamics MLP on the clips with the growing K-step rollout loss."""
    settings = config.delta_dynamics
    robot = load_robot(config.robot)
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    batch = min(settings.batch_clips, clips.num_clips)
    backend = make_backend(config.backend, robot, batch, config.sim)
    if config.dynamics:
        backend.set_dynamics(np.arange(batch), dict(config.dynamics))
    env_ids = np.arange(batch)
    # Normalisation from one simulated step of (up to) 8 batches of clip starts: inputs by
    # their spread, outputs by the spread of the residual s_real' - s_sim' itself.
    rows = clips.starts[rng.permutation(clips.num_clips)[:8 * batch]]
    features, residuals, steps = [], [], []
    for chunk in np.array_split(rows, max(1, rows.size // batch)):
        chunk = np.resize(chunk, batch)
        start = clips.state(chunk)
        frame = heading_frame(start)
        backend.reset(env_ids, start)
        backend.step(clips.targets[chunk])
        real_next = state_vector(clips.state(chunk + 1))
        residuals.append(to_heading_frame(real_next - state_vector(backend.get_state()), frame))
        steps.append(real_next - state_vector(start))
        features.append(model_input(start, clips.targets[chunk], robot, frame))
    features, residuals = np.concatenate(features), np.concatenate(residuals)
    model = DeltaDynamicsModel(features.shape[1], residuals.shape[1], settings.hidden_dims)
    model.input_mean[:] = torch.as_tensor(features.mean(axis=0), dtype=torch.float32)
    model.input_std[:] = torch.as_tensor(features.std(axis=0) + 1e-3, dtype=torch.float32)
    model.output_std[:] = torch.as_tensor(residuals.std(axis=0) + 1e-6, dtype=torch.float32)
    # Loss per quantity in units of its typical one-step change (residual spreads would weight
    # sub-millimetre quantities by 1e4 and make the K-step loss diverge).
    weight = torch.as_tensor(1.0 / (np.concatenate(steps).std(axis=0) + 1e-4),
                             dtype=torch.float32)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    horizon = min(settings.rollout_steps, clips.horizon)
    try:
        for iteration in range(settings.iterations):
            grow = max(1, settings.iterations // 2)
            steps = max(1, min(horizon, 1 + (horizon - 1) * iteration // grow))
            starts = clips.starts[rng.integers(0, clips.num_clips, batch)]
            state = clips.state(starts)
            backend.reset(env_ids, state)
            loss = torch.zeros(())
            for step in range(steps):
                targets = clips.targets[starts + step]
                backend.step(targets)
                simulated = backend.get_state()
                residual = world_residual(model, state, targets, robot)
                corrected = torch.as_tensor(state_vector(simulated), dtype=torch.float32) \
                    + residual
                real = torch.as_tensor(state_vector(clips.state(starts + step + 1)),
                                       dtype=torch.float32)
                loss = loss + (((corrected - real) * weight) ** 2).mean()
                state = with_vector(simulated, corrected.detach().numpy().astype(float))
                backend.reset(env_ids, state)
            loss = loss / steps
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if progress is not None:
                progress(iteration, loss.item(), steps)
    finally:
        backend.close()
    model.eval()
    return DeltaDynamicsCorrection(model, robot)
