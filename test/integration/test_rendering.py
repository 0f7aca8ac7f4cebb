# SPDX-License-Identifier: Apache-2.0
"""Offscreen videos with real MuJoCo rendering (headless: EGL, else OSMesa), read back.

``play``, ``evaluate --video`` and the rendering of a recorded trajectory run end to end
through the command line on the shipped bundles; the files are decoded with imageio and their
frames checked: count, size, not blank, the robot in view and moving.
"""

from __future__ import annotations

import pathlib

import imageio.v2 as imageio
import numpy as np
import pytest

from robot_learning.cli.main import main
from robot_learning.data.trajectory import load_trajectory, Trajectory
from robot_learning.evaluation.setup import simulation_robot
from robot_learning.policies.contract import load_contract
from robot_learning.sim import rendering
from robot_learning.sim.rendering import (render_states, render_trajectory, RenderingError,
                                          RobotStates, VideoConfig)

ROOT = pathlib.Path(__file__).resolve().parents[2]
QUADRUPED = ROOT / 'policies' / 'quadruped_flat'
HUMANOID = ROOT / 'policies' / 'humanoid_motion'
SIZE = {'width': 160, 'height': 120}


def _read(path: pathlib.Path) -> np.ndarray:
    """All frames of a video file, (F, H, W, 3) uint8."""
    return np.stack([frame[..., :3] for frame in imageio.mimread(path, memtest=False)])


def _robot_pixels(frame: np.ndarray) -> np.ndarray:
    """Mask of the base link's orange (red well above blue) in one frame."""
    red, green, blue = (frame[..., channel].astype(int) for channel in range(3))
    return (red - blue > 80) & (red > green)


def _walking_states(frames: int, dt: float) -> RobotStates:
    """Quadruped states walking 1 m along x while the legs swing."""
    robot = simulation_robot(load_contract(QUADRUPED))
    phase = np.arange(frames) * 2 * np.pi / frames
    joint_pos = robot.default_joint_pos + 0.4 * np.sin(phase)[:, None] * np.tile(
        [0.0, 1.0, -1.0], 4)
    base_pos = np.column_stack([np.linspace(0.0, 1.0, frames), np.zeros(frames),
                                np.full(frames, 0.3)])
    return RobotStates(base_pos=base_pos, base_quat=np.tile([1.0, 0.0, 0.0, 0.0], (frames, 1)),
                       joint_pos=joint_pos, dt=dt)


def test_an_mp4_of_the_quadruped_has_the_frames_asked_for_and_follows_the_robot(tmp_path):
    robot = simulation_robot(load_contract(QUADRUPED))
    states = _walking_states(frames=40, dt=0.02)  # 0.8 s
    summary = render_states(states, robot, tmp_path / 'walk.mp4', VideoConfig(fps=10, **SIZE))
    assert summary.frames == 8 and summary.duration == pytest.approx(0.8)
    assert (tmp_path / 'walk.mp4').stat().st_size > 0
    frames = _read(tmp_path / 'walk.mp4')
    assert frames.shape == (8, 120, 160, 3)
    assert all(frame.std() > 10 for frame in frames)  # sky, floor and robot: not blank
    # The sky box is there: the top rows are blue (black when the scene's textures are lost).
    top = frames[:, :6].astype(int)
    assert (top[..., 2] - top[..., 0]).mean() > 20
    # The legs swing: consecutive frames differ (mp4 noise alone is a few grey levels).
    changes = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in zip(frames, frames[1:])]
    assert min(changes) > 1.0
    # The camera follows the base: the orange trunk stays near the middle while it walks 1 m.
    for frame in (frames[0], frames[-1]):
        rows, columns = np.nonzero(_robot_pixels(frame))
        assert rows.size > 50
        assert abs(columns.mean() - 80) < 30 and abs(rows.mean() - 60) < 30


def test_a_gif_and_a_png_frame(tmp_path):
    robot = simulation_robot(load_contract(QUADRUPED))
    states = _walking_states(frames=25, dt=0.02)
    gif = render_states(states, robot, tmp_path / 'walk.gif', VideoConfig(fps=10, **SIZE))
    assert gif.frames == 5 and _read(tmp_path / 'walk.gif').shape == (5, 120, 160, 3)
    png = render_states(states, robot, tmp_path / 'walk.png', VideoConfig(**SIZE))
    image = imageio.imread(tmp_path / 'walk.png')
    assert png.frames == 1 and image.shape[:2] == (120, 160)
    assert _robot_pixels(image[..., :3]).sum() > 50


def test_bad_video_settings_are_refused_by_name(tmp_path):
    robot = simulation_robot(load_contract(QUADRUPED))
    states = _walking_states(frames=5, dt=0.02)
    with pytest.raises(RenderingError, match='suffix'):
        render_states(states, robot, tmp_path / 'walk.avi')
    with pytest.raises(RenderingError, match='even width and height, got 161x120'):
        render_states(states, robot, tmp_path / 'walk.mp4', VideoConfig(width=161, height=120))
    with pytest.raises(RenderingError, match='fps'):
        VideoConfig(fps=0)
    assert not list(tmp_path.iterdir())


def test_no_gl_backend_gives_an_error_naming_egl_and_osmesa(monkeypatch):
    # Both probes run for real in a child process, on backends whose modules do not exist.
    monkeypatch.delenv('MUJOCO_GL', raising=False)
    monkeypatch.delenv('PYOPENGL_PLATFORM', raising=False)  # set by an earlier rendering
    monkeypatch.setattr(rendering, 'GL_MODULES', {'egl': 'mujoco.no_egl',
                                                  'osmesa': 'mujoco.no_osmesa'})
    rendering.gl_backend.cache_clear()
    try:
        with pytest.raises(RenderingError) as error:
            rendering.gl_backend()
        message = str(error.value)
        assert 'egl' in message and 'osmesa' in message and 'libosmesa6' in message
        assert 'MUJOCO_GL' in message and "No module named 'mujoco.no_egl'" in message
    finally:
        rendering.gl_backend.cache_clear()


def test_mujoco_gl_off_is_refused(monkeypatch):
    monkeypatch.setenv('MUJOCO_GL', 'off')
    rendering.gl_backend.cache_clear()
    try:
        with pytest.raises(RenderingError, match="MUJOCO_GL='off' disables rendering"):
            rendering.gl_backend()
    finally:
        rendering.gl_backend.cache_clear()


def test_play_walks_the_quadruped_and_writes_the_video(tmp_path, capsys):
    video = tmp_path / 'play.mp4'
    assert main(['play', str(QUADRUPED), '--command', '0.5', '0', '0', '--duration', '1.5',
                 '--video', str(video), '--fps', '10', '--width', '160', '--height', '120']) == 0
    frames = _read(video)
    assert frames.shape == (15, 120, 160, 3)
    output = capsys.readouterr().out
    assert str(video) in output and '15 frames' in output and '1.50 s' in output
    assert 'forward_speed' in output


def test_play_a_motion_of_the_humanoid_on_pybullet(tmp_path):
    video = tmp_path / 'squat.gif'
    assert main(['play', str(HUMANOID), '--backend', 'pybullet', '--motion', 'squat',
                 '--duration', '1', '--video', str(video), '--fps', '5', '--width', '160',
                 '--height', '120']) == 0
    assert _read(video).shape == (5, 120, 160, 3)


@pytest.mark.parametrize('arguments, message', [
    ([str(QUADRUPED), '--motion', 'squat'], 'tracks velocity commands'),
    ([str(HUMANOID), '--command', '1', '0', '0'], 'tracks motions'),
    ([str(HUMANOID), '--motion', 'moonwalk'], "no motion 'moonwalk'; it holds squat"),
    ([str(QUADRUPED), '--duration', '0'], '--duration must be positive'),
])
def test_play_refuses_options_that_do_not_fit_the_bundle(tmp_path, capsys, arguments, message):
    video = tmp_path / 'never.mp4'
    assert main(['play', *arguments, '--video', str(video)]) == 2
    assert message in capsys.readouterr().err
    assert not video.exists()


def test_play_help_starts_nothing(capsys):
    with pytest.raises(SystemExit) as exit_code:
        main(['play', '--help'])
    assert exit_code.value.code == 0
    assert '--video FILE' in capsys.readouterr().out


def test_evaluate_writes_a_video_of_environment_zero(tmp_path):
    video = tmp_path / 'evaluate.mp4'
    assert main(['evaluate', str(QUADRUPED), '--num-envs', '2', '--episode-length', '1.5',
                 '--video', str(video), '--fps', '10', '--width', '160',
                 '--height', '120']) == 0
    assert _read(video).shape == (15, 120, 160, 3)


def test_a_recorded_trajectory_renders_as_the_demo_does(tmp_path):
    # The demo renders its trajectory.npz after the run: the same path on a saved trajectory.
    contract = load_contract(QUADRUPED)
    states = _walking_states(frames=30, dt=contract.control_dt)
    count, joints = states.joint_pos.shape
    zeros = np.zeros((count, joints))
    trajectory = Trajectory(
        time=np.arange(count) * contract.control_dt, joint_pos=states.joint_pos,
        joint_vel=zeros, joint_effort=zeros, base_pos=states.base_pos,
        base_quat=states.base_quat, base_lin_vel=np.zeros((count, 3)),
        base_ang_vel=np.zeros((count, 3)), actions=zeros, commands=np.zeros((count, 3)),
        robot=contract.robot, joint_names=contract.joint_names,
        control_dt=contract.control_dt)
    saved = load_trajectory(trajectory.save(tmp_path / 'trajectory.npz'))
    summary = render_trajectory(saved, simulation_robot(contract), tmp_path / 'demo.mp4',
                                VideoConfig(fps=10, **SIZE))
    expected = int(round(count * contract.control_dt * 10))
    assert summary.frames == expected
    assert _read(tmp_path / 'demo.mp4').shape == (expected, 120, 160, 3)
