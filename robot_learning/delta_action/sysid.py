# SPDX-License-Identifier: Apache-2.0
"""SysID baseline: fit named dynamics parameters to recorded clips by open-loop replay error.

The objective of a parameter vector is the replay error of the clips in the simulator with
those dynamics: mean global body-position error [m] + ``joint_weight`` x mean joint error
[rad] over the horizon. It is minimised with ``scipy.optimize.differential_evolution``
(global, derivative-free: ``action_latency`` acts in whole physics steps, so the objective is
piecewise constant in it), each generation evaluated at once as one batched backend with
``candidates x clips`` environments (``vectorized=True``).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.optimize

from robot_learning.delta_action.clips import ClipSet
from robot_learning.delta_action.config import DeltaConfig
from robot_learning.delta_action.replay import errors, recorded, replay
from robot_learning.motions.kinematics import BodyKinematics
from robot_learning.robots.registry import load_robot
from robot_learning.sim.dynamics import PARAMETERS
from robot_learning.sim.registry import make_backend


class ReplayObjective:
    """Replay error of candidate dynamics, vectorized over candidates (scipy's convention)."""

    def __init__(self, config: DeltaConfig, clips: ClipSet, starts: np.ndarray,
                 names: tuple[str, ...]) -> None:
        self.config, self.clips, self.starts, self.names = config, clips, starts, names
        self.robot = load_robot(config.robot)
        self.kinematics = BodyKinematics(self.robot)
        self._backends: dict[int, object] = {}
        self.evaluations = 0

    def _backend(self, count: int):
        if count not in self._backends:
            self._backends[count] = make_backend(self.config.backend, self.robot, count,
                                                 self.config.sim)
        return self._backends[count]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return the objective of x (D,) -> scalar, or of x (D, S) -> (S,)."""
        x = np.asarray(x, dtype=float)
        single = x.ndim == 1
        x = x.reshape(len(self.names), -1)
        candidates, clips = x.shape[1], self.starts.size
        backend = self._backend(candidates * clips)
        values = dict(self.config.dynamics)
        values.update({name: np.repeat(x[i], clips) for i, name in enumerate(self.names)})
        backend.set_dynamics(np.arange(candidates * clips), values)
        starts = np.tile(self.starts, candidates)
        simulated = replay(backend, self.clips, starts)
        real = recorded(self.clips, starts)
        step_errors = errors(self.kinematics, simulated, real)
        per_clip = (step_errors['g_mpjpe_mm'].mean(axis=1) / 1000.0
                    + self.config.sysid.joint_weight * step_errors['joint_rad'].mean(axis=1))
        cost = per_clip.reshape(candidates, clips).mean(axis=1)
        cost = np.where(np.isfinite(cost), cost, 1e3)
        self.evaluations += candidates
        return float(cost[0]) if single else cost

    def close(self) -> None:
        """Close the backends."""
        for backend in self._backends.values():
            backend.close()


def fit_sysid(config: DeltaConfig, clips: ClipSet,
              progress: Callable[[int, float, dict], None] | None = None) -> dict:
    """Fit ``config.sysid.parameters`` to the clips; return the result.

    Returns:
        {'parameters': {name: value}, 'objective': best cost, 'nominal_objective': cost at
        the nominal values (clipped into the bounds), 'evaluations', 'clips', 'history':
        [best cost per generation]}.
    """
    sysid = config.sysid
    names = tuple(sysid.parameters)
    bounds = [tuple(float(v) for v in sysid.parameters[name]) for name in names]
    stride = config.steps(config.clip_stride_s)
    starts = clips.spaced_starts(stride, sysid.max_clips)
    objective = ReplayObjective(config, clips, starts, names)
    nominal = np.array([np.clip(PARAMETERS[name].nominal, *bound)
                        for name, bound in zip(names, bounds)])
    history = []

    def callback(intermediate_result) -> None:
        history.append(float(intermediate_result.fun))
        if progress is not None:
            progress(len(history), float(intermediate_result.fun),
                     dict(zip(names, map(float, intermediate_result.x))))

    try:
        nominal_cost = objective(nominal)
        result = scipy.optimize.differential_evolution(
            objective, bounds, maxiter=sysid.max_iterations, popsize=sysid.population,
            seed=config.seed, vectorized=True, updating='deferred', polish=False,
            callback=callback, x0=nominal, tol=1e-4)
    finally:
        objective.close()
    return {'parameters': {name: float(value) for name, value in zip(names, result.x)},
            'objective': float(result.fun), 'nominal_objective': float(nominal_cost),
            'evaluations': int(objective.evaluations), 'clips': int(starts.size),
            'history': history}
