# SPDX-License-Identifier: Apache-2.0
"""Training configuration: the task plus rsl-rl PPO and network settings."""

from __future__ import annotations

import dataclasses

from robot_learning.config import ConfigError, from_dict, require_non_negative, \
    require_positive
from robot_learning.domain_randomization.config import RandomizationConfig
from robot_learning.tasks.motion_tracking import MotionTaskConfig
from robot_learning.tasks.registry import task_spec
from robot_learning.tasks.velocity_tracking import VelocityTaskConfig


@dataclasses.dataclass(frozen=True)
class PpoConfig:
    """rsl-rl PPO hyperparameters (legged_gym defaults)."""

    num_steps_per_env: int = 24
    """Environment steps per environment between two updates."""
    learning_rate: float = 1.0e-3
    """Adam's initial step size; the 'adaptive' schedule then divides or multiplies it by 1.5
    per mini-batch (within [1e-5, 1e-2]) to hold the KL near ``desired_kl``."""
    num_learning_epochs: int = 5
    """Passes over each collected batch."""
    num_mini_batches: int = 4
    """Mini-batches the batch (num_envs * num_steps_per_env) is split into."""
    clip_param: float = 0.2
    """Clip range epsilon of the policy ratio, 1 +- epsilon (also clips the value change)."""
    gamma: float = 0.99
    """Discount factor per control step."""
    lam: float = 0.95
    """GAE lambda (bias-variance trade-off of the advantages)."""
    entropy_coef: float = 0.01
    """Weight of the entropy bonus in the loss."""
    value_loss_coef: float = 1.0
    """Weight of the value loss in the loss."""
    max_grad_norm: float = 1.0
    """Gradients are clipped to this global L2 norm."""
    schedule: str = 'adaptive'
    """'adaptive' (KL-driven learning rate) or 'fixed'."""
    desired_kl: float = 0.01
    """Target KL divergence between the old and new policy ('adaptive' schedule): the step size
    shrinks above 2x this and grows below half of it."""

    def __post_init__(self) -> None:
        """Reject counts below 1, non-positive rates and unknown schedules."""
        require_positive('ppo', num_steps_per_env=self.num_steps_per_env,
                         learning_rate=self.learning_rate,
                         num_learning_epochs=self.num_learning_epochs,
                         num_mini_batches=self.num_mini_batches, clip_param=self.clip_param,
                         gamma=self.gamma, max_grad_norm=self.max_grad_norm,
                         desired_kl=self.desired_kl)
        require_non_negative('ppo', lam=self.lam, entropy_coef=self.entropy_coef,
                             value_loss_coef=self.value_loss_coef)
        for name in ('gamma', 'lam'):
            if getattr(self, name) > 1:
                raise ConfigError(f'ppo: {name} must be at most 1, got {getattr(self, name)!r}')
        if self.schedule not in ('adaptive', 'fixed'):
            raise ConfigError(f"ppo: schedule must be 'adaptive' or 'fixed', got "
                              f'{self.schedule!r}')


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Actor and critic MLPs (rsl-rl MLPModel)."""

    actor_hidden_dims: tuple[int, ...] = (512, 256, 128)
    """Hidden layer widths of the actor MLP."""
    critic_hidden_dims: tuple[int, ...] = (512, 256, 128)
    """Hidden layer widths of the critic MLP."""
    activation: str = 'elu'
    """Activation of both MLPs, an rsl-rl name ('elu', 'relu', 'tanh', ...)."""
    init_noise_std: float = 1.0
    """Initial standard deviation of the Gaussian action distribution."""
    obs_normalization: bool = True
    """Empirical observation normalization, baked into the exported policy."""

    def __post_init__(self) -> None:
        """Reject a non-positive or non-finite noise and empty or zero-width layers."""
        require_positive('network', init_noise_std=self.init_noise_std)
        for name in ('actor_hidden_dims', 'critic_hidden_dims'):
            dims = getattr(self, name)
            if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d < 1
                               for d in dims):
                raise ConfigError(f'network: {name} must be layer widths >= 1, got {dims!r}')


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything ``robot-learning train`` needs."""

    task: VelocityTaskConfig | MotionTaskConfig = VelocityTaskConfig()
    """The task's own config: the ``config_cls`` that ``task_type`` registers."""
    task_type: str = 'velocity_tracking'
    """Registered name of the task ``task`` configures (``tasks/registry.py``)."""
    randomization: RandomizationConfig = RandomizationConfig()
    """Domain randomization of the task's dynamics: method, target box, update schedule."""
    ppo: PpoConfig = PpoConfig()
    """PPO hyperparameters."""
    network: NetworkConfig = NetworkConfig()
    """Actor and critic networks."""
    max_iterations: int = 1500
    """PPO iterations (each collects num_envs * num_steps_per_env steps)."""
    save_interval: int = 50
    """Iterations between checkpoints."""
    run_dir: str = 'runs/quadruped_flat'
    """Folder of checkpoints, TensorBoard logs and the resolved config."""
    seed: int = 0
    """Seed of Python, numpy and torch (the task has its own ``task.seed``)."""
    torch_threads: int = 0
    """Threads for the PPO update; 0 means one per CPU core."""
    init_policy: str = ''
    """Bundle folder whose actor (normalizer and MLP) starts a new run; '' starts at random.

    The critic and the action noise (``network.init_noise_std``) start fresh."""

    def __post_init__(self) -> None:
        """Build ``task`` (a mapping when read from YAML) as the config of ``task_type``."""
        spec = task_spec(self.task_type, 'task_type')
        if not spec.deployable:
            raise ConfigError(f"task_type '{self.task_type}' is not trained by "
                              "'robot-learning train' (it has its own command)")
        cls = spec.config_cls
        task = self.task
        if isinstance(task, dict):
            task = from_dict(cls, task, 'task')
        elif not isinstance(task, cls):
            if task != VelocityTaskConfig():
                raise ConfigError(f'task is a {type(task).__name__}, but task_type '
                                  f"'{self.task_type}' needs a {cls.__name__}")
            task = cls()  # the untouched default of another task type
        object.__setattr__(self, 'task', task)
        require_positive('TrainConfig', max_iterations=self.max_iterations,
                         save_interval=self.save_interval)
        require_non_negative('TrainConfig', torch_threads=self.torch_threads)

    def check_batch(self) -> None:
        """Raise a ConfigError when PPO would split its batch into empty mini-batches.

        Checked when training starts rather than in ``__post_init__``: ``export`` rebuilds a
        run's config with a single environment, which never trains.
        """
        num_envs = getattr(self.task, 'num_envs', 0)
        batch = num_envs * self.ppo.num_steps_per_env
        if self.ppo.num_mini_batches > batch:
            raise ConfigError(
                f'ppo.num_mini_batches={self.ppo.num_mini_batches} is larger than the batch of '
                f'{batch} transitions (task.num_envs={num_envs} x '
                f'ppo.num_steps_per_env={self.ppo.num_steps_per_env})')


def runner_config(config: TrainConfig) -> dict:
    """Build the nested dict that rsl-rl's OnPolicyRunner expects."""
    ppo, network = config.ppo, config.network
    return {
        'num_steps_per_env': ppo.num_steps_per_env,
        'save_interval': config.save_interval,
        'obs_groups': {'actor': ['policy'], 'critic': ['critic']},
        'logger': 'tensorboard',
        'check_for_nan': True,
        'algorithm': {
            'class_name': 'PPO',
            'learning_rate': ppo.learning_rate,
            'num_learning_epochs': ppo.num_learning_epochs,
            'num_mini_batches': ppo.num_mini_batches,
            'clip_param': ppo.clip_param,
            'gamma': ppo.gamma,
            'lam': ppo.lam,
            'entropy_coef': ppo.entropy_coef,
            'value_loss_coef': ppo.value_loss_coef,
            'max_grad_norm': ppo.max_grad_norm,
            'schedule': ppo.schedule,
            'desired_kl': ppo.desired_kl,
        },
        'actor': {
            'class_name': 'MLPModel',
            'hidden_dims': list(network.actor_hidden_dims),
            'activation': network.activation,
            'obs_normalization': network.obs_normalization,
            'distribution_cfg': {'class_name': 'GaussianDistribution',
                                 'init_std': network.init_noise_std},
        },
        'critic': {
            'class_name': 'MLPModel',
            'hidden_dims': list(network.critic_hidden_dims),
            'activation': network.activation,
            'obs_normalization': network.obs_normalization,
        },
    }
