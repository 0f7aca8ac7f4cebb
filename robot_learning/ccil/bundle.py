# SPDX-License-Identifier: Apache-2.0
"""Export a cloned policy as a policy bundle (policy.onnx + policy.pt + contract.yaml).

The bundle follows ``policies/export.py``: the ONNX graph maps ``obs`` (1, D) float32 to
``actions`` (1, A) with the observation and action scalings inside, the TorchScript module does
the same, and ``contract.yaml`` is the contract of the demonstrations' observation (for the
quadruped task, the PPO expert's contract), so the ROS 2 policy node and
``policies/runtime.py`` run the clone exactly like a PPO policy. The bundle is assembled in a
temporary folder and moved into place only after ONNX has been checked against torch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import pathlib
import warnings

import torch

from robot_learning.atomic_write import atomic_folder
from robot_learning.ccil.behaviour_cloning import BCPolicy
from robot_learning.config import ConfigError
from robot_learning.policies.contract import (ONNX_FILE, PolicyContract, save_contract,
                                              TORCHSCRIPT_FILE)
from robot_learning.policies.export import (check_onnx_output, export_record,
                                            inline_onnx_weights, ONNX_DYNAMIC_AXES)


def export_bc_bundle(policy: BCPolicy, contract: PolicyContract, output: str | pathlib.Path,
                     provenance: dict | None = None) -> pathlib.Path:
    """Write ``policy`` with ``contract``'s interface to the bundle folder ``output``.

    Raises:
        ConfigError: The policy's input/output sizes differ from the contract's.
        ExportError: ONNX and torch disagree by more than ONNX_TOLERANCE.
    """
    output = pathlib.Path(output)
    inputs = int(policy.observation_mean.shape[0])
    outputs = int(policy.action_centre.shape[0])
    if inputs != contract.observation_dim or outputs != contract.num_joints:
        raise ConfigError(f'policy maps {inputs} observations to {outputs} actions; the '
                          f'contract of {contract.robot} needs {contract.observation_dim} -> '
                          f'{contract.num_joints}')
    for name in ('onnx_ir', 'onnxscript', 'torch.onnx'):
        logging.getLogger(name).setLevel(logging.WARNING)
    policy = policy.eval()
    with atomic_folder(output) as staging:
        example = torch.zeros(1, inputs)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter('ignore')
            torch.onnx.export(policy, (example,), str(staging / ONNX_FILE),
                              input_names=['obs'], output_names=['actions'], dynamo=False,
                              dynamic_axes=ONNX_DYNAMIC_AXES)
            torch.jit.script(policy).save(str(staging / TORCHSCRIPT_FILE))
        inline_onnx_weights(staging / ONNX_FILE)
        max_error = check_onnx_matches_policy(staging / ONNX_FILE, policy)
        bundle_contract = dataclasses.replace(
            contract, provenance={**(provenance or {}), **export_record(max_error)})
        bundle_contract.validate()
        save_contract(bundle_contract, staging)
    return output


def check_onnx_matches_policy(onnx_path: pathlib.Path, policy: BCPolicy,
                              samples: int = 256) -> float:
    """Largest |onnx - torch| over random observations; raises ExportError above tolerance."""
    generator = torch.Generator().manual_seed(0)
    width = int(policy.observation_mean.shape[0])
    observations = (policy.observation_mean + policy.observation_std
                    * torch.randn(samples, width, generator=generator) * 2.0)
    with torch.no_grad():
        expected = policy(observations).numpy()
    return check_onnx_output(onnx_path, observations.numpy(), expected)
