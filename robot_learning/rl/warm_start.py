# SPDX-License-Identifier: Apache-2.0
"""Start a training run from the actor of an exported bundle (``init_policy``).

A bundle's ``policy.pt`` is the TorchScript actor that ``export`` wrote: its observation
normalizer and MLP carry the same parameter names as the training actor, so a new run (other
rewards, a randomization method, another command mix) can begin from a policy that already
walks instead of from random weights. The critic and the action noise start fresh
(``network.init_noise_std``); the optimizer state is not in a bundle.
"""

from __future__ import annotations

import pathlib

import torch
import yaml

POLICY_FILE = 'policy.pt'
CONTRACT_FILE = 'contract.yaml'


class WarmStartError(ValueError):
    """The ``init_policy`` bundle cannot start this run (missing, or another shape)."""


def bundle_actor_state(bundle: str | pathlib.Path) -> dict[str, torch.Tensor]:
    """Return the actor parameters (normalizer and MLP) of ``bundle/policy.pt``.

    Raises:
        WarmStartError: the folder or its ``policy.pt`` is missing or not TorchScript.
    """
    path = pathlib.Path(bundle) / POLICY_FILE
    if not path.is_file():
        raise WarmStartError(f'init_policy: {path} not found (a bundle folder written by '
                             "'robot-learning export')")
    try:
        module = torch.jit.load(str(path), map_location='cpu')
    except RuntimeError as error:
        raise WarmStartError(f'init_policy: {path} is not a TorchScript policy: '
                             f'{str(error).splitlines()[0]}') from None
    return dict(module.state_dict())


def bundle_joint_names(bundle: str | pathlib.Path) -> list[str] | None:
    """Return the ``joint_names`` of the bundle's contract, None without a readable one."""
    path = pathlib.Path(bundle) / CONTRACT_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    names = data.get('joint_names') if isinstance(data, dict) else None
    return list(names) if isinstance(names, list) else None


def load_actor(actor: torch.nn.Module, bundle: str | pathlib.Path,
               joint_names: tuple[str, ...] | list[str]) -> list[str]:
    """Copy the bundle's actor parameters into ``actor``; return the names it left as they were.

    Every bundle parameter must exist in ``actor`` with the same shape, and the bundle's
    joints must be the task's, in order (the action layout); parameters the bundle does not
    hold (the action noise) keep their initial values.

    Raises:
        WarmStartError: another joint order, a parameter the actor lacks or of another shape
            (another observation layout or network size), named.
    """
    bundle_joints = bundle_joint_names(bundle)
    if bundle_joints is not None and list(bundle_joints) != list(joint_names):
        raise WarmStartError(f'init_policy: {bundle} acts on joints {bundle_joints}, the task '
                             f'on {list(joint_names)}')
    state = bundle_actor_state(bundle)
    own = actor.state_dict()
    for name, tensor in state.items():
        if name not in own:
            raise WarmStartError(f'init_policy: {bundle} holds {name}, which this actor lacks '
                                 '(another network or normalization setting?)')
        if tuple(own[name].shape) != tuple(tensor.shape):
            raise WarmStartError(
                f'init_policy: {bundle} {name} has shape {tuple(tensor.shape)}, this actor '
                f'{tuple(own[name].shape)} (another observation layout or network size)')
    actor.load_state_dict(state, strict=False)
    return sorted(set(own) - set(state))
