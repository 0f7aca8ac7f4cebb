# SPDX-License-Identifier: Apache-2.0
"""Transfer evaluation of a locomotion policy bundle over dynamics: the DR figures.

Every evaluation runs one episode per environment with the bundle's ONNX policy (no observation
noise), velocity commands and reset states drawn as in training (seeded, so every policy meets
the same episodes), and counts successes with the task's own criterion
(``tasks.success.velocity_tracking_success``).

Metric names (JSON report, key ``metrics``):
- ``global_success_rate``: success on ``episodes`` dynamics drawn uniformly from the target box
  (DORAEMON's headline metric); ``global_speed_error`` [m/s] and ``global_fall_rate`` beside it.
- ``heatmap_success_rate``: mean success over the heatmap grid (two parameters swept over the
  box, the others nominal).
- ``reality/<name>/success_rate``, ``.../speed_error`` [m/s], ``.../fall_rate``: each reality
  config (``config/reality/``), its engine and dynamics as given.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.distributions import UniformBox
from robot_learning.domain_randomization.randomizer import FixedValues
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.robots.registry import load_robot
from robot_learning.sim.reality import load_reality
from robot_learning.tasks.velocity_tracking import VelocityTaskConfig, VelocityTrackingEnv


@dataclasses.dataclass(frozen=True)
class TransferConfig:
    """What to evaluate: the uniform target, a heatmap, reality configs."""

    episodes: int = 256
    """Episodes (one dynamics sample each) on the uniform target box; 0 skips it."""
    heatmap: tuple[str, ...] = ()
    """Two parameters of the box to sweep, or () for no heatmap."""
    heatmap_cells: int = 8
    """Grid cells per axis (cell centres span the box)."""
    heatmap_episodes: int = 4
    """Episodes per cell."""
    realities: tuple[str, ...] = ()
    """Reality config names or YAML paths."""
    reality_episodes: int = 32
    seed: int = 0

    def __post_init__(self) -> None:
        if self.heatmap and len(self.heatmap) != 2:
            raise ConfigError(f'heatmap needs two parameter names, got {list(self.heatmap)}')
        if self.heatmap and self.heatmap[0] == self.heatmap[1]:
            raise ConfigError(f'heatmap needs two different parameters, got {self.heatmap[0]} '
                              'twice')
        if self.episodes < 0 or self.heatmap_cells < 2 or self.heatmap_episodes < 1 or \
                self.reality_episodes < 1:
            raise ConfigError('episodes >= 0, heatmap_cells >= 2, heatmap_episodes >= 1 and '
                              'reality_episodes >= 1 are required')


def evaluation_task(runtime: PolicyRuntime, task: VelocityTaskConfig, num_envs: int,
                    seed: int, **changes) -> VelocityTaskConfig:
    """Return the training task re-timed and re-observed by the bundle's contract, no noise."""
    contract = runtime.contract
    if contract.robot != task.robot:
        raise ConfigError(f"the bundle drives '{contract.robot}', the task's robot is "
                          f"'{task.robot}'")
    decimation = int(round(contract.control_dt / contract.sim_dt))
    values = {'num_envs': num_envs, 'observations': contract.observations,
              'noise_level': 0.0, 'clip_observations': contract.clip_observations,
              'clip_actions': contract.clip_actions, 'dynamics': {}, 'seed': seed,
              'sim': dataclasses.replace(task.sim, sim_dt=contract.sim_dt,
                                         decimation=decimation, seed=seed, num_threads=0)}
    values.update(changes)
    return dataclasses.replace(task, **values)


def run_episodes(runtime: PolicyRuntime, task: VelocityTaskConfig,
                 dynamics: tuple[ParameterBox, np.ndarray] | None = None) -> dict:
    """Run the first episode of every environment of ``task``.

    ``dynamics`` = (box, values (N, D)) gives environment i the values of row i.
    Returns ``success``, ``speed_error`` [m/s] and ``fell``, arrays of shape (N,).
    """
    randomizer = FixedValues(*dynamics) if dynamics is not None else None
    env = VelocityTrackingEnv(task, randomizer=randomizer)
    num_envs = env.num_envs
    success = np.zeros(num_envs, dtype=bool)
    speed_error = np.full(num_envs, np.nan)
    fell = np.zeros(num_envs, dtype=bool)
    finished = np.zeros(num_envs, dtype=bool)
    try:
        for _ in range(env.max_episode_length):
            actions = runtime.act(runtime.observe(env.observation_inputs(env.state)))
            _, _, _, _, info = env.step(actions)
            episodes = info['episodes']
            first = ~finished[episodes['env_ids']]
            ids = episodes['env_ids'][first]
            success[ids] = episodes['success'][first]
            speed_error[ids] = episodes['speed_error'][first]
            fell[ids] = episodes['fell'][first]
            finished[ids] = True
            if finished.all():
                break
    finally:
        env.backend.close()
    return {'success': success, 'speed_error': speed_error, 'fell': fell}


def _summary(outcome: dict) -> dict:
    return {'success_rate': float(np.mean(outcome['success'])),
            'speed_error': float(np.nanmean(outcome['speed_error'])),
            'fall_rate': float(np.mean(outcome['fell'])),
            'episodes': int(outcome['success'].size)}


def heatmap_values(box: ParameterBox, names: tuple[str, str], cells: int,
                   episodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grid dynamics: (x centres (cells,), y centres (cells,), values (cells*cells*episodes, D)).

    Rows are ordered y-major, then x, then episode; unswept parameters sit at their nominal
    values clipped into the box.
    """
    for name in names:
        if name not in box.names:
            raise ConfigError(f"heatmap parameter '{name}' is not in the target box; valid: "
                              f"{', '.join(box.names)}")
    ix, iy = box.names.index(names[0]), box.names.index(names[1])
    fractions = (np.arange(cells) + 0.5) / cells
    xs = box.low[ix] + fractions * box.width[ix]
    ys = box.low[iy] + fractions * box.width[iy]
    values = np.tile(np.clip(box.nominal, box.low, box.high), (cells * cells * episodes, 1))
    grid_y, grid_x = np.meshgrid(ys, xs, indexing='ij')
    values[:, ix] = np.repeat(grid_x.ravel(), episodes)
    values[:, iy] = np.repeat(grid_y.ravel(), episodes)
    return xs, ys, values


def evaluate_transfer(bundle: str, task: VelocityTaskConfig, box: ParameterBox,
                      config: TransferConfig) -> dict:
    """Evaluate ``bundle`` on the target box, a heatmap and reality configs; return the report.

    ``task`` is the training task (commands, episode length, success threshold); ``box`` the
    target box. Reality configs must use the bundle's robot and control period.
    """
    runtime = PolicyRuntime(bundle)
    report: dict = {'bundle': str(bundle), 'robot': runtime.contract.robot,
                    'target': box.to_mapping(), 'config': dataclasses.asdict(config),
                    'success_speed_error': task.success_speed_error,
                    'episode_length_s': task.episode_length_s, 'metrics': {}}
    metrics = report['metrics']
    rng = np.random.default_rng(config.seed)
    if config.episodes:
        values = UniformBox.full(box).sample(config.episodes, rng)
        outcome = run_episodes(runtime, evaluation_task(runtime, task, config.episodes,
                                                        config.seed), (box, values))
        summary = _summary(outcome)
        metrics.update({f'global_{key}': value for key, value in summary.items()
                        if key != 'episodes'})
        report['global'] = {**summary, 'dynamics': values.tolist(),
                            'success': outcome['success'].tolist()}
    if config.heatmap:
        xs, ys, values = heatmap_values(box, config.heatmap, config.heatmap_cells,
                                        config.heatmap_episodes)
        outcome = run_episodes(runtime, evaluation_task(runtime, task, len(values),
                                                        config.seed), (box, values))
        cells = config.heatmap_cells
        grid = outcome['success'].reshape(cells, cells, config.heatmap_episodes).mean(axis=2)
        metrics['heatmap_success_rate'] = float(grid.mean())
        report['heatmap'] = {'x': config.heatmap[0], 'y': config.heatmap[1],
                             'x_values': xs.tolist(), 'y_values': ys.tolist(),
                             'success': grid.tolist()}
    report['realities'] = {}
    for name in config.realities:
        reality = load_reality(name)
        # The same robot by name and joints; its actuator may differ (a policy trained on an
        # impedance-matched description of it runs on the reality's own robot and drivers).
        reality_robot, bundle_robot = load_robot(reality.robot), load_robot(runtime.contract.robot)
        if (reality_robot.name, reality_robot.joint_names) != \
                (bundle_robot.name, bundle_robot.joint_names):
            raise ConfigError(f"reality '{reality.name}' is a '{reality.robot}', the bundle "
                              f"drives '{runtime.contract.robot}'")
        if abs(reality.control_dt - runtime.contract.control_dt) > 1e-9:
            raise ConfigError(f"reality '{reality.name}' runs at {reality.control_dt} s, the "
                              f'policy at {runtime.contract.control_dt} s')
        reality_task = evaluation_task(
            runtime, task, config.reality_episodes, config.seed, backend=reality.backend,
            robot=reality.robot, dynamics=dict(reality.dynamics),
            sim=dataclasses.replace(reality.sim, seed=config.seed))
        summary = _summary(run_episodes(runtime, reality_task))
        report['realities'][reality.name] = {**summary, 'backend': reality.backend,
                                             'dynamics': dict(reality.dynamics)}
        for key in ('success_rate', 'speed_error', 'fall_rate'):
            metrics[f'reality/{reality.name}/{key}'] = summary[key]
    return report
