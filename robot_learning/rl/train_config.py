# SPDX-License-Identifier: Apache-2.0
"""Training configuration: the task plus rsl-rl PPO and network settings."""

from __future__ import annotations

import dataclasses

from robot_learning.config import ConfigError, from_dict
from robot_learning.domain_randomization.config import RandomizationConfig
from robot_learning.tasks.motion_tracking import MotionTaskConfig
from robot_learning.tasks.velocity_tracking import VelocityTaskConfig

TASK_CONFIGS = {'velocity_tracking': VelocityTaskConfig, 'motion_tracking': MotionTaskConfig}
"""The config class of each ``task_type``."""


@dataclasses.dataclass(frozen=True)
class PpoConfig:
    """rsl-rl PPO hyperparameters (legged_gym defaults)."""

    num_steps_per_env: int = 24
    """Environment steps per environment between two updates."""
    learning_rate: float = 1.0e-3
    num_learning_epochs: int = 5
    num_mini_batches: int = 4
    clip_param: float = 0.2
    gamma: float = 0.99
    lam: float = 0.95
    entropy_coef: float = 0.01
    value_loss_coef: float = 1.0
    max_grad_norm: float = 1.0
    schedule: str = 'adaptive'
    """'adaptive' (KL-driven learning rate) or 'fixed'."""
    desired_kl: float = 0.01


@dataclasses.dataclass(frozen=True)
class NetworkConfig:
    """Actor and critic MLPs (rsl-rl MLPModel)."""

    actor_hidden_dims: tuple[int, ...] = (512, 256, 128)
    critic_hidden_dims: tuple[int, ...] = (512, 256, 128)
    activation: str = 'elu'
    init_noise_std: float = 1.0
    """Initial standard deviation of the Gaussian action distribution."""
    obs_normalization: bool = True
    """Empirical observation normalization, baked into the exported policy."""


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Everything ``robot-learning train`` needs."""

    task: VelocityTaskConfig | MotionTaskConfig = VelocityTaskConfig()
    task_type: str = 'velocity_tracking'
    """Which task ``task`` configures: a key of TASK_CONFIGS."""
    randomization: RandomizationConfig = RandomizationConfig()
    """Domain randomization of the task's dynamics: method, target box, update schedule."""
    ppo: PpoConfig = PpoConfig()
    network: NetworkConfig = NetworkConfig()
    max_iterations: int = 1500
    """PPO iterations (each collects num_envs * num_steps_per_env steps)."""
    save_interval: int = 50
    """Iterations between checkpoints."""
    run_dir: str = 'runs/quadruped_flat'
    """Folder of checkpoints, TensorBoard logs and the resolved config."""
    seed: int = 0
    torch_threads: int = 0
    """Threads for the PPO update; 0 means one per CPU core."""

    def __post_init__(self) -> None:
        """Build ``task`` (a mapping when read from YAML) as the config of ``task_type``."""
        try:
            cls = TASK_CONFIGS[self.task_type]
        except KeyError:
            raise ConfigError(f"task_type '{self.task_type}' is not a task; valid: "
                              f"{', '.join(TASK_CONFIGS)}") from None
        task = self.task
        if isinstance(task, dict):
            task = from_dict(cls, task, 'task')
        elif not isinstance(task, cls):
            if task != VelocityTaskConfig():
                raise ConfigError(f'task is a {type(task).__name__}, but task_type '
                                  f"'{self.task_type}' needs a {cls.__name__}")
            task = cls()  # the untouched default of another task type
        object.__setattr__(self, 'task', task)


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
