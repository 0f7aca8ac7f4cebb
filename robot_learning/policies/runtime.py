# SPDX-License-Identifier: Apache-2.0
"""Run a policy bundle with numpy and onnxruntime only (what simulation and ROS nodes use)."""

from __future__ import annotations

import pathlib

import numpy as np
import onnxruntime
from onnxruntime.capi import onnxruntime_pybind11_state as onnxruntime_errors

from robot_learning.config import ConfigError
from robot_learning.policies.contract import (joint_targets, load_contract, ONNX_FILE,
                                              PolicyContract)
from robot_learning.tasks.observations import compute_observation, ObservationInputs

ONNX_LOAD_ERRORS = (onnxruntime_errors.Fail, onnxruntime_errors.InvalidArgument,
                    onnxruntime_errors.InvalidGraph, onnxruntime_errors.InvalidProtobuf,
                    onnxruntime_errors.NoModel, onnxruntime_errors.NotImplemented,
                    onnxruntime_errors.RuntimeException)
"""onnxruntime's exceptions for a file it cannot load (they derive from Exception only)."""


class PolicyRuntime:
    """A loaded bundle: observations from ObservationInputs, actions from ONNX."""

    def __init__(self, bundle: str | pathlib.Path) -> None:
        self.bundle = pathlib.Path(bundle)
        self.contract: PolicyContract = load_contract(self.bundle)
        onnx_path = self.bundle / ONNX_FILE
        if not onnx_path.is_file():
            raise FileNotFoundError(f'policy bundle {self.bundle} has no {ONNX_FILE}')
        options = onnxruntime.SessionOptions()
        # A small MLP runs fastest on the calling thread; onnxruntime's default worker pool
        # spin-waits after each run and steals the CPU the control loop needs.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        try:
            self.session = onnxruntime.InferenceSession(str(onnx_path), options,
                                                        providers=['CPUExecutionProvider'])
        except ONNX_LOAD_ERRORS as error:  # a truncated or corrupt file, or not a model
            raise ConfigError(f'{onnx_path}: not a loadable ONNX model (truncated or '
                              f'corrupt?): {str(error).strip()}') from None
        (graph_input,) = self.session.get_inputs()
        self.input_name = graph_input.name
        width = graph_input.shape[-1]
        if isinstance(width, int) and width != self.contract.observation_dim:
            raise ConfigError(f'{onnx_path}: the graph takes {width} observations, the contract '
                              f'says {self.contract.observation_dim}')

    def observe(self, inputs: ObservationInputs) -> np.ndarray:
        """Observation vectors (N, D) float32 built from the contract's terms."""
        contract = self.contract
        return compute_observation(contract.observations, inputs, contract.clip_observations)

    def act(self, observations: np.ndarray) -> np.ndarray:
        """Raw actions (N, J) for observations (N, D)."""
        observations = np.asarray(observations, dtype=np.float32)
        rows = [self.session.run(None, {self.input_name: row[None]})[0][0]
                for row in observations]
        return np.asarray(rows, dtype=float)

    def targets(self, actions: np.ndarray) -> np.ndarray:
        """Joint position targets [rad] (N, J) for raw actions (N, J)."""
        return joint_targets(self.contract, actions)
