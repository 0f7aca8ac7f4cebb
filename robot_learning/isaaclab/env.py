# SPDX-License-Identifier: Apache-2.0
"""Run the project's PPO runner on an Isaac Lab environment (Isaac Lab imported lazily).

Usage inside an Isaac Lab Python (``isaaclab.sh -p``), after ``AppLauncher`` started the app::

    env_cfg.events = make_event_cfg(event_terms(config.randomization.box().to_mapping()))
    env = gymnasium.make('Isaac-Velocity-Flat-Unitree-Go2-v0', cfg=env_cfg)
    runner = make_isaaclab_runner(env, config, log_dir='runs/go2_isaaclab')
    runner.learn(config.max_iterations, init_at_random_ep_len=True)

Limits: the event terms draw from the box's fixed ranges (uniform DR); ADR and DORAEMON update
their distributions from per-episode success inside ``VelocityTrackingEnv`` and are not fed
back into Isaac Lab's event manager. The ASAP delta-action trainer (``robot_learning/
delta_action/``, ``robot-learning delta fit|finetune|evaluate``) runs on the project's own
backends (it resets worlds to recorded states through ``SimBackend.reset``); it has no Isaac
Lab path. Exported bundles need the task's
observation contract; Isaac Lab's observation order and joint order must match it.
"""

from __future__ import annotations

from typing import Mapping

from robot_learning.isaaclab.events import EVENTS_MODULE, EventTermSpec
from robot_learning.rl.runner import TrainingRunner
from robot_learning.rl.train_config import runner_config, TrainConfig

INSTALL_HINT = ('Isaac Lab is not installed in this Python: install Isaac Sim and Isaac Lab '
                '(isaac-sim.github.io/IsaacLab) and run through isaaclab.sh -p, or train on the '
                'built-in backends (task.backend=mujoco or mujoco_warp)')


def _import(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f'{INSTALL_HINT} ({error})') from error


def make_event_cfg(terms: Mapping[str, EventTermSpec]):
    """Build an Isaac Lab ``@configclass`` holding one ``EventTermCfg`` per term.

    Raises:
        ImportError: Isaac Lab is not installed (the message says what to do).
    """
    events = _import(EVENTS_MODULE)
    managers = _import('isaaclab.managers')
    configclass = _import('isaaclab.utils').configclass
    fields = {}
    for name, spec in terms.items():
        params = dict(spec.params)
        asset = params.pop('asset_cfg', None)
        if asset is not None:
            asset = dict(asset)
            params['asset_cfg'] = managers.SceneEntityCfg(asset.pop('name'), **asset)
        fields[name] = managers.EventTermCfg(
            func=getattr(events, spec.func), mode=spec.mode, params=params,
            interval_range_s=spec.interval_range_s)
    namespace = {'__annotations__': {name: managers.EventTermCfg for name in fields}, **fields}
    return configclass(type('RobotLearningEventCfg', (), namespace))()


def make_isaaclab_runner(env, config: TrainConfig, log_dir: str | None,
                         device: str = 'cuda:0') -> TrainingRunner:
    """Wrap an Isaac Lab env for rsl-rl and build the project's ``TrainingRunner`` on it.

    The observation groups follow Isaac Lab's: ``policy`` for the actor and ``critic`` when
    the task defines it (``policy`` otherwise).

    Raises:
        ImportError: ``isaaclab_rl`` is not installed (the message says what to do).
    """
    wrapper = _import('isaaclab_rl.rsl_rl').RslRlVecEnvWrapper(env)
    train_cfg = runner_config(config)
    groups = wrapper.get_observations().keys()
    train_cfg['obs_groups'] = {'actor': ['policy'],
                               'critic': ['critic'] if 'critic' in groups else ['policy']}
    return TrainingRunner(wrapper, train_cfg, log_dir, device)
