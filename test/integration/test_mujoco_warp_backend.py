# SPDX-License-Identifier: Apache-2.0
"""MuJoCo Warp on Warp's CPU device against the ``mujoco`` CPU backend.

Same robot, same compiled model, same PD targets: MuJoCo Warp computes in float32, MuJoCo in
float64, with the same algorithms. Over 1 s of the quadruped dropped from 0.35 m and driven
by 1 Hz sine targets, with per-world dynamics (payload, friction, kp scale, latency) and a
subset reset half-way, joint positions agree within 1e-3 rad and the base height within
1e-3 m (tolerance; first measured about 1e-6, i.e. float32 rounding, before contacts
accumulate differences). The first run compiles Warp's kernels (about a minute; cached after
in ~/.cache/warp).
"""

from __future__ import annotations

import mujoco_warp  # noqa: F401  (a dev dependency: a missing install fails, never skips)
import numpy as np
import pytest

from robot_learning.robots import load_robot
from robot_learning.sim.base import SimConfig, SimulationError
from robot_learning.sim.mujoco_backend import MujocoBackend
from robot_learning.sim.mujoco_warp_backend import MujocoWarpBackend, MujocoWarpCpuBackend
from robot_learning.sim.registry import make_backend

NUM_ENVS = 3
DYNAMICS = {'added_base_mass': np.array([0.0, 2.0, -0.5]),
            'ground_friction': np.array([1.0, 0.6, 1.2]),
            'kp_scale': np.array([1.0, 0.8, 1.2]),
            'action_latency': np.array([0.0, 0.01, 0.02])}


def _run(backend) -> tuple[np.ndarray, np.ndarray, object]:
    robot = backend.robot
    backend.set_dynamics(np.arange(NUM_ENVS), DYNAMICS)
    reset_state = backend.default_state(1)
    reset_state.joint_pos += 0.1
    joints, heights = [], []
    for step in range(50):  # 1 s at 50 Hz
        if step == 25:
            backend.reset(np.array([1]), reset_state)
        phase = 2 * np.pi * step * backend.control_dt + np.arange(robot.num_joints)
        targets = robot.default_joint_pos + 0.2 * np.sin(phase)
        backend.step(np.tile(targets, (NUM_ENVS, 1)))
        state = backend.get_state()
        joints.append(state.joint_pos)
        heights.append(state.base_pos[:, 2])
    return np.array(joints), np.array(heights), state


@pytest.fixture(scope='module')
def trajectories():
    robot = load_robot('quadruped')
    warp = make_backend('mujoco_warp_cpu', robot, NUM_ENVS, SimConfig())
    cpu = MujocoBackend(robot, NUM_ENVS, SimConfig())
    result = _run(warp), _run(cpu), warp
    cpu.close()
    return result


def test_trajectories_agree_with_the_mujoco_backend(trajectories):
    (w_joints, w_heights, w_state), (c_joints, c_heights, c_state), _ = trajectories
    assert np.ptp(c_joints, axis=0).min() > 0.1  # the joints really moved
    assert c_heights[0].max() < 0.35  # and the robots really dropped
    np.testing.assert_allclose(w_joints, c_joints, atol=1e-3)
    np.testing.assert_allclose(w_heights, c_heights, atol=1e-3)
    np.testing.assert_allclose(w_state.contact_force, c_state.contact_force, rtol=0.05, atol=1.0)
    # Per-world dynamics are really per world: the payload world sits lower.
    assert not np.allclose(c_heights[:, 0], c_heights[:, 1], atol=1e-3)


def test_state_is_shared_with_torch_without_copies(trajectories):
    warp = trajectories[2]
    tensors = warp.torch_state()
    assert tensors['qpos'].shape == (NUM_ENVS, warp.nominal_model.nq)
    assert tensors['qpos'].data_ptr() == warp.torch_state()['qpos'].data_ptr()
    tensors['qvel'][0, 0] = 0.123  # a write through the tensor reaches the simulation
    assert warp.data.qvel.numpy()[0, 0] == pytest.approx(0.123)
    assert warp.unsupported_parameters == ()


def test_gpu_without_a_gpu_is_a_clear_error():
    import warp
    if warp.get_cuda_device_count() > 0:
        pytest.skip('this machine has a GPU')
    with pytest.raises(SimulationError, match="no CUDA GPU.*'mujoco_warp_cpu'"):
        MujocoWarpBackend(load_robot('quadruped'), 2, SimConfig())


def test_unsupported_model_feature_is_a_clear_error(monkeypatch):
    import mujoco

    from robot_learning.sim import mujoco_warp_backend

    def pgs_model(robot, config):  # the PGS solver: MuJoCo has it, mujoco_warp does not
        model, layout = compile_model(robot, config)
        model.opt.solver = mujoco.mjtSolver.mjSOL_PGS
        return model, layout

    compile_model = mujoco_warp_backend.compile_model
    monkeypatch.setattr(mujoco_warp_backend, 'compile_model', pgs_model)
    with pytest.raises(SimulationError, match="does not support.*the 'mujoco' backend"):
        MujocoWarpCpuBackend(load_robot('quadruped'), 1, SimConfig())


def test_training_environment_runs_on_the_warp_backend():
    from robot_learning.tasks.velocity_tracking import VelocityTaskConfig, VelocityTrackingEnv
    env = VelocityTrackingEnv(VelocityTaskConfig(backend='mujoco_warp_cpu', num_envs=4))
    for _ in range(5):
        obs, rewards, terminated, truncated, _ = env.step(np.zeros((4, env.num_actions)))
    assert obs['policy'].shape == (4, 48) and np.isfinite(obs['policy']).all()
    assert np.isfinite(rewards).all() and not terminated.any()
