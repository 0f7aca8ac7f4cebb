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
- ``reality/<name>/success_rate``, ``.../speed_error`` [m/s], ``.../fall_rate``,
  ``.../target_change_mean`` [rad per step]: each reality config (``config/reality/``), its
  engine and dynamics as given.
- ``global_target_change_mean``: mean joint-target change per control step [rad] on the
  target box (smoothness, ``evaluation/smoothness.py``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from robot_learning.config import ConfigError
from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.distributions import UniformBox
from robot_learning.domain_randomization.randomizer import FixedValues
from robot_learning.policies.contract import joint_targets
from robot_learning.policies.runtime import PolicyRuntime
from robot_learning.robots.registry import load_robot
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.reality import load_reality
from robot_learning.tasks.registry import task_spec
from robot_learning.tasks.simulated_task import SimulatedTaskConfig


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
    """Episodes on each reality config (its own engine and dynamics)."""
    seed: int = 0
    """Seed of the dynamics samples, of commands and reset states, and of the simulators."""

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


def evaluation_task(runtime: PolicyRuntime, task: SimulatedTaskConfig, num_envs: int,
                    seed: int, **changes) -> SimulatedTaskConfig:
    """Return the training task re-timed and re-observed by the bundle's contract, no noise."""
    contract = runtime.contract
    robot_name = load_robot(task.robot).name
    if contract.robot != robot_name:
        raise ConfigError(f"the bundle drives '{contract.robot}', the task's robot is "
                          f"'{robot_name}'")
    if type(task) is not task_spec(contract.task).config_cls:
        raise ConfigError(f"the bundle's task is '{contract.task}', the target config "
                          f'configures a {type(task).__name__}')
    decimation = int(round(contract.control_dt / contract.sim_dt))
    values = {'num_envs': num_envs, 'observations': contract.observations,
              'noise_level': 0.0, 'clip_observations': contract.clip_observations,
              'clip_actions': contract.clip_actions, 'dynamics': {}, 'seed': seed,
              'sim': dataclasses.replace(task.sim, sim_dt=contract.sim_dt,
                                         decimation=decimation, seed=seed, num_threads=0)}
    values.update(changes)
    return dataclasses.replace(task, **values)


def episode_metrics(task_name: str) -> tuple[str, ...]:
    """Return the per-episode numbers of a task that a transfer report averages."""
    return tuple(name for name in task_spec(task_name).metrics
                 if name not in ('success', 'fell', 'complete', 'motion_ids'))


def run_episodes(runtime: PolicyRuntime, task: SimulatedTaskConfig, robot: RobotSpec,
                 dynamics: tuple[ParameterBox, np.ndarray] | None = None) -> dict:
    """Run the first episode of every environment of ``task`` on ``robot``.

    ``dynamics`` = (box, values (N, D)) gives environment i the values of row i.
    Returns ``success`` and ``fell``, the task's episode metrics (``speed_error`` [m/s] for
    velocity tracking) and ``target_change_mean`` (mean joint-target change per control step
    over the episode [rad], ``evaluation/smoothness.py``), arrays of shape (N,).
    """
    randomizer = FixedValues(*dynamics) if dynamics is not None else None
    env_cls = task_spec(runtime.contract.task).env_cls
    env = env_cls(task, randomizer=randomizer, robot=robot)
    num_envs = env.num_envs
    keys = episode_metrics(runtime.contract.task)
    outcome = {'success': np.zeros(num_envs, dtype=bool), 'fell': np.zeros(num_envs, dtype=bool),
               **{key: np.full(num_envs, np.nan) for key in keys}}
    finished = np.zeros(num_envs, dtype=bool)
    change_sum, change_steps = np.zeros(num_envs), np.zeros(num_envs)
    previous = None
    try:
        for _ in range(env.max_episode_length):
            actions = runtime.act(runtime.observe(env.observation_inputs(env.state)))
            targets = joint_targets(runtime.contract, actions)
            if previous is not None:
                change_sum[~finished] += np.abs(targets - previous).mean(axis=1)[~finished]
                change_steps[~finished] += 1
            previous = targets
            _, _, _, _, info = env.step(actions)
            episodes = info['episodes']
            first = ~finished[episodes['env_ids']]
            ids = episodes['env_ids'][first]
            for key, values in outcome.items():
                values[ids] = episodes[key][first]
            finished[ids] = True
            if finished.all():
                break
    finally:
        env.backend.close()
    outcome['target_change_mean'] = change_sum / np.maximum(change_steps, 1)
    return outcome


def _summary(outcome: dict) -> dict:
    summary = {'success_rate': float(np.mean(outcome['success'])),
               'fall_rate': float(np.mean(outcome['fell'])),
               'episodes': int(outcome['success'].size)}
    for key, values in outcome.items():
        if key not in ('success', 'fell'):
            summary[key] = float(np.nanmean(values)) if np.isfinite(values).any() else np.nan
    return summary


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


def evaluate_transfer(bundle: str, task: SimulatedTaskConfig, box: ParameterBox,
                      config: TransferConfig) -> dict:
    """Evaluate ``bundle`` on the target box, a heatmap and reality configs; return the report.

    ``task`` is the training task of the bundle's registered task (commands or motions,
    episode length, success criterion); ``box`` the target box. Reality configs must use the
    bundle's robot and control period.
    """
    runtime = PolicyRuntime(bundle)
    # The target task's robot (a registry name or a robot YAML, e.g. an impedance-matched
    # description) with the contract's gains, limits and action mapping.
    robot = runtime.contract.robot_for_simulation(load_robot(task.robot))
    report: dict = {'bundle': str(bundle), 'task': runtime.contract.task,
                    'robot': runtime.contract.robot, 'target': box.to_mapping(),
                    'config': dataclasses.asdict(config),
                    'success_speed_error': getattr(task, 'success_speed_error', None),
                    'episode_length_s': getattr(task, 'episode_length_s', None), 'metrics': {}}
    metrics = report['metrics']
    rng = np.random.default_rng(config.seed)
    if config.episodes:
        values = UniformBox.full(box).sample(config.episodes, rng)
        outcome = run_episodes(runtime, evaluation_task(runtime, task, config.episodes,
                                                        config.seed), robot, (box, values))
        summary = _summary(outcome)
        metrics.update({f'global_{key}': value for key, value in summary.items()
                        if key != 'episodes'})
        report['global'] = {**summary, 'dynamics': values.tolist(),
                            'success': outcome['success'].tolist()}
    if config.heatmap:
        xs, ys, values = heatmap_values(box, config.heatmap, config.heatmap_cells,
                                        config.heatmap_episodes)
        outcome = run_episodes(runtime, evaluation_task(runtime, task, len(values),
                                                        config.seed), robot, (box, values))
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
        reality_robot = load_robot(reality.robot)
        if (reality_robot.name, reality_robot.joint_names) != \
                (runtime.contract.robot, runtime.contract.joint_names):
            raise ConfigError(f"reality '{reality.name}' is a '{reality.robot}', the bundle "
                              f"drives '{runtime.contract.robot}'")
        if abs(reality.control_dt - runtime.contract.control_dt) > 1e-9:
            raise ConfigError(f"reality '{reality.name}' runs at {reality.control_dt} s, the "
                              f'policy at {runtime.contract.control_dt} s')
        reality_task = evaluation_task(
            runtime, task, config.reality_episodes, config.seed, backend=reality.backend,
            robot=reality.robot, dynamics=dict(reality.dynamics),
            sim=dataclasses.replace(reality.sim, seed=config.seed))
        summary = _summary(run_episodes(runtime, reality_task,
                                        runtime.contract.robot_for_reality(reality_robot)))
        report['realities'][reality.name] = {**summary, 'backend': reality.backend,
                                             'dynamics': dict(reality.dynamics)}
        for key, value in summary.items():
            if key != 'episodes':
                metrics[f'reality/{reality.name}/{key}'] = value
    return report
