# SPDX-License-Identifier: Apache-2.0
"""Offscreen pictures of robot states with MuJoCo: videos (mp4, gif) and single frames (png).

States hold a base pose and joint positions only, so whichever engine produced them (MuJoCo,
PyBullet, a recording) they are drawn with the robot's own MuJoCo model (``mujoco_model``: the
geometry the simulation collides with) on a checkered floor, seen by a camera that follows the
base.

Rendering needs an OpenGL backend without a display. Unless ``MUJOCO_GL`` names one, EGL is
tried first (GPU drivers or Mesa's ``libEGL_mesa``), then OSMesa (software, Debian package
``libosmesa6``); each is probed once per process in a child process, so a backend that fails
(or crashes) cannot spoil the next try. When none works, :class:`RenderingError` names both.
"""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
import functools
import importlib
import logging
import os
import pathlib
import subprocess
import sys

import imageio.v2 as imageio
import mujoco
import numpy as np
from PIL import Image

from robot_learning.atomic_write import atomic_path
from robot_learning.config import ConfigError
from robot_learning.data.trajectory import Trajectory
from robot_learning.robots.spec import RobotSpec
from robot_learning.sim.base import SimConfig, SimState
from robot_learning.sim.mujoco_model import build_model_spec, compile_error

GL_BACKENDS = ('egl', 'osmesa')
"""Headless OpenGL backends tried in this order when ``MUJOCO_GL`` is not set."""
GL_MODULES = {'egl': 'mujoco.egl', 'osmesa': 'mujoco.osmesa', 'glfw': 'mujoco.glfw'}
"""``MUJOCO_GL`` value -> the MuJoCo module whose ``GLContext`` it uses."""
GL_HINTS = {
    'egl': 'EGL needs libEGL (a GPU driver or Mesa: Debian package libegl1 with '
           'libegl-mesa0)',
    'osmesa': 'OSMesa needs libOSMesa (Debian package libosmesa6)',
    'glfw': 'GLFW needs a display (DISPLAY) and the glfw library',
}
"""What each backend needs, for error messages."""
VIDEO_SUFFIXES = ('.mp4', '.gif', '.png')
"""Files a rendering is written to: an mp4 video, an animated GIF, or one PNG frame."""
ROBOT_RGBA = (0.93, 0.55, 0.17, 1.0)
"""Colour of the base link's geometry."""
LIMB_RGBA = (0.25, 0.27, 0.30, 1.0)
"""Colour of every other link's geometry."""
GIF_COLORS = 128
"""Colours of a GIF's shared palette."""
SHADOW_MAP_SIZE = 1024
"""Side of the shadow map [texels]."""


class RenderingError(ConfigError):
    """Rendering is impossible here (no OpenGL backend) or asked with unusable settings."""


@dataclasses.dataclass(frozen=True)
class VideoConfig:
    """Size, rate and camera of a rendering."""

    width: int = 640
    """Image width [pixels]; even for mp4 (H.264 with 4:2:0 chroma)."""
    height: int = 480
    """Image height [pixels]; even for mp4."""
    fps: float = 30.0
    """Frames per second of the video; states are resampled in time to this rate, so the
    video plays in real time."""
    distance: float = 0.0
    """Camera distance to the base [m]; 0 picks about three robot sizes."""
    azimuth: float = 135.0
    """Camera azimuth [deg] about the vertical (90 looks along +y, from the robot's right)."""
    elevation: float = -20.0
    """Camera elevation [deg] (negative looks down)."""

    def __post_init__(self) -> None:
        """Refuse sizes and rates no video can have."""
        for name in ('width', 'height'):
            value = getattr(self, name)
            if not 16 <= value <= 4096:
                raise RenderingError(f'video {name} must be 16 to 4096 pixels, got {value}')
        if not 0 < self.fps <= 240:
            raise RenderingError(f'video fps must be in (0, 240], got {self.fps}')
        if self.distance < 0:
            raise RenderingError(f'camera distance must be >= 0, got {self.distance}')


def _probe(backend: str) -> str:
    """Create a tiny GL context of ``backend`` in a child process; return '' or the error."""
    code = (f'import {GL_MODULES[backend]} as gl\n'
            'context = gl.GLContext(16, 16)\n'
            'context.make_current()\n')
    environment = {**os.environ, 'MUJOCO_GL': backend, 'PYOPENGL_PLATFORM': backend}
    try:
        result = subprocess.run([sys.executable, '-c', code], env=environment, timeout=60,
                                capture_output=True, text=True, check=False)
    except subprocess.TimeoutExpired:
        return 'timed out creating a context'
    if result.returncode == 0:
        return ''
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1] if lines else f'exit status {result.returncode}'


@functools.cache
def gl_backend() -> str:
    """Return the OpenGL backend for offscreen rendering in this process (cached).

    ``MUJOCO_GL`` set by the user is taken as it is; otherwise EGL, then OSMesa are probed and
    the first that works is chosen (and written to ``MUJOCO_GL`` for child processes).

    Raises:
        RenderingError: ``MUJOCO_GL`` disables rendering, or no backend works; the message
            names the backends, their errors and what to install.
    """
    requested = os.environ.get('MUJOCO_GL', '').strip().lower()
    if requested in ('disable', 'disabled', 'off', 'false', '0'):
        raise RenderingError(f"MUJOCO_GL='{requested}' disables rendering; set it to "
                             f"{' or '.join(GL_BACKENDS)}, or unset it to try "
                             f"{' then '.join(GL_BACKENDS)}")
    if requested:
        # MuJoCo's other values (glfw, glx, enable, on, true, 1) all mean a GLFW window.
        return requested if requested in GL_BACKENDS else 'glfw'
    # PyOpenGL binds one platform per process: one set by the user is the only candidate.
    platform = os.environ.get('PYOPENGL_PLATFORM', '').strip().lower()
    errors = {}
    for backend in (platform,) if platform in GL_BACKENDS else GL_BACKENDS:
        errors[backend] = _probe(backend)
        if not errors[backend]:
            os.environ['MUJOCO_GL'] = backend
            return backend
    tried = '; '.join(f'{name} ({GL_HINTS[name]}): {error}' for name, error in errors.items())
    only = (f' (PYOPENGL_PLATFORM={platform} rules out the others: unset it to try '
            f"{' then '.join(GL_BACKENDS)})" if len(errors) == 1 else '')
    raise RenderingError(
        f'no OpenGL backend for offscreen rendering: tried {tried}{only}. Install EGL or '
        'OSMesa (`make venv` installs libosmesa6 with apt where neither is present), or set '
        'MUJOCO_GL to a backend that works here')


def _gl_context(width: int, height: int):
    """Create and make current a GL context of the chosen backend."""
    backend = gl_backend()
    # PyOpenGL logs at INFO that its optional C accelerator is missing; nothing to act on.
    logging.getLogger('OpenGL.acceleratesupport').setLevel(logging.WARNING)
    try:
        if backend in ('egl', 'osmesa'):
            os.environ.setdefault('PYOPENGL_PLATFORM', backend)
        module = importlib.import_module(GL_MODULES[backend])
        context = module.GLContext(width, height)
        context.make_current()
    except Exception as error:  # ImportError, RuntimeError, OpenGL errors, missing libraries
        raise RenderingError(
            f'MUJOCO_GL={backend}: cannot create an OpenGL context ({type(error).__name__}: '
            f'{error}); {GL_HINTS[backend]}. Try MUJOCO_GL='
            f"{' or MUJOCO_GL='.join(b for b in GL_BACKENDS if b != backend)}, or unset "
            'MUJOCO_GL to let robot-learning probe EGL then OSMesa') from error
    return context


def render_model(robot: RobotSpec, width: int, height: int) -> mujoco.MjModel:
    """Compile ``robot`` for pictures: the simulated geometry, coloured, on a checkered floor.

    The geometry is what the simulation collides with (MuJoCo's URDF import keeps no visual
    elements); the base link is orange, the other links dark grey.
    """
    spec = build_model_spec(robot, SimConfig())
    spec.compiler.discardvisual = False  # it would discard the floor's material and the sky
    spec.visual.global_.offwidth = max(width, 640)
    spec.visual.global_.offheight = max(height, 480)
    # A smaller shadow map than the default 4096²: software OpenGL (Mesa llvmpipe) renders
    # frames faster with it, and shadows look the same at video sizes.
    spec.visual.quality.shadowsize = SHADOW_MAP_SIZE
    spec.visual.headlight.ambient = [0.35, 0.35, 0.35]
    spec.visual.headlight.diffuse = [0.5, 0.5, 0.5]
    spec.add_texture(name='sky', type=mujoco.mjtTexture.mjTEXTURE_SKYBOX,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT, width=256, height=256,
                     rgb1=[0.62, 0.76, 0.90], rgb2=[0.95, 0.97, 1.0])
    spec.add_texture(name='checker', type=mujoco.mjtTexture.mjTEXTURE_2D,
                     builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER, width=256, height=256,
                     rgb1=[0.78, 0.80, 0.82], rgb2=[0.58, 0.61, 0.64])
    floor_material = spec.add_material(name='floor', texrepeat=[1.0, 1.0], texuniform=True)
    floor_material.textures[mujoco.mjtTextureRole.mjTEXROLE_RGB] = 'checker'
    base = spec.body(robot.base_link)
    for geom in spec.geoms:
        if geom.name == 'floor':
            geom.material = 'floor'
        else:
            geom.rgba = ROBOT_RGBA if geom.parent == base else LIMB_RGBA
    spec.worldbody.add_light(type=mujoco.mjtLightType.mjLIGHT_DIRECTIONAL, dir=[0.3, 0.4, -1.0],
                             diffuse=[0.6, 0.6, 0.6], castshadow=True)
    try:
        return spec.compile()
    except Exception as error:
        raise compile_error(robot, error) from error


class RobotRenderer:
    """Draw states of one robot offscreen with a camera that follows its base.

    Args:
        robot: the robot (its MuJoCo model is compiled here).
        config: image size and camera.

    Raises:
        RenderingError: no OpenGL backend works (see :func:`gl_backend`).
    """

    def __init__(self, robot: RobotSpec, config: VideoConfig = VideoConfig()) -> None:
        self.robot = robot
        self.config = config
        self.model = render_model(robot, config.width, config.height)
        self.data = mujoco.MjData(self.model)
        self.joint_qpos = np.array([self.model.joint(name).qposadr[0]
                                    for name in robot.joint_names], dtype=np.int64)
        self.floating = robot.floating_base
        self._context = _gl_context(config.width, config.height)
        self._scene = mujoco.MjvScene(self.model, maxgeom=10000)
        self._option = mujoco.MjvOption()
        self._option.sitegroup[:] = 0  # the IMU and contact sensor sites are not the robot
        self._render_context = mujoco.MjrContext(self.model,
                                                 mujoco.mjtFontScale.mjFONTSCALE_150)
        mujoco.mjr_setBuffer(mujoco.mjtFramebuffer.mjFB_OFFSCREEN, self._render_context)
        self._viewport = mujoco.MjrRect(0, 0, config.width, config.height)
        self._pixels = np.empty((config.height, config.width, 3), dtype=np.uint8)
        mujoco.mj_forward(self.model, self.data)
        self.camera = mujoco.MjvCamera()
        """Free camera whose look-at point follows the base (see :meth:`render`)."""
        self.camera.type = mujoco.mjtCamera.mjCAMERA_FREE
        self.camera.distance = config.distance or max(1.0, 2.2 * float(self.model.stat.extent))
        self.camera.azimuth = config.azimuth
        self.camera.elevation = config.elevation
        self._fixed_lookat = self.data.subtree_com[self.model.body(robot.base_link).id].copy()

    def render(self, base_pos: np.ndarray, base_quat: np.ndarray,
               joint_pos: np.ndarray) -> np.ndarray:
        """Return the picture (H, W, 3) uint8 of one state.

        Args:
            base_pos: (3,) [m]; ignored for a fixed-base robot.
            base_quat: (4,) (w, x, y, z); ignored for a fixed-base robot.
            joint_pos: (J,) [rad] in the robot's joint order.
        """
        data = self.data
        if self.floating:
            data.qpos[0:3] = base_pos
            data.qpos[3:7] = np.asarray(base_quat) / np.linalg.norm(base_quat)
        data.qpos[self.joint_qpos] = joint_pos
        data.qvel[:] = 0.0
        mujoco.mj_forward(self.model, data)
        self.camera.lookat[:] = data.qpos[0:3] if self.floating else self._fixed_lookat
        self._context.make_current()
        mujoco.mjv_updateScene(self.model, data, self._option, None, self.camera,
                               mujoco.mjtCatBit.mjCAT_ALL, self._scene)
        mujoco.mjr_render(self._viewport, self._scene, self._render_context)
        mujoco.mjr_readPixels(self._pixels, None, self._viewport, self._render_context)
        return np.flipud(self._pixels).copy()  # OpenGL's rows run bottom-up

    def close(self) -> None:
        """Free the GL resources."""
        if self._render_context is not None:
            self._context.make_current()
            self._render_context.free()
            self._render_context = None
            self._context.free()

    def __enter__(self) -> RobotRenderer:
        """Use as a context manager; the GL context is freed on exit."""
        return self

    def __exit__(self, *exc_info) -> None:
        """Free the GL resources."""
        self.close()


@dataclasses.dataclass(frozen=True)
class RobotStates:
    """T states of one robot, ``dt`` seconds apart: what a rendering draws."""

    base_pos: np.ndarray
    """(T, 3) [m]."""
    base_quat: np.ndarray
    """(T, 4) (w, x, y, z)."""
    joint_pos: np.ndarray
    """(T, J) [rad], the robot's joint order."""
    dt: float
    """Time between states [s]."""

    def __post_init__(self) -> None:
        """Refuse empty or inconsistent arrays."""
        count = len(self.joint_pos)
        if count == 0:
            raise RenderingError('no states to render')
        for name in ('base_pos', 'base_quat'):
            if len(getattr(self, name)) != count:
                raise RenderingError(f'{name} has {len(getattr(self, name))} rows, joint_pos '
                                     f'{count}')
        if not self.dt > 0:
            raise RenderingError(f'dt must be positive, got {self.dt}')

    @property
    def duration(self) -> float:
        """Time the states span [s] (T * dt)."""
        return len(self.joint_pos) * self.dt

    def frame_indices(self, fps: float) -> np.ndarray:
        """Index of the state shown in each frame at ``fps`` (nearest in time, real time)."""
        frames = max(1, int(round(self.duration * fps)))
        times = np.arange(frames) / fps
        return np.minimum(np.round(times / self.dt).astype(np.int64), len(self.joint_pos) - 1)


class StateRecorder:
    """Collect the state of one environment of a batched rollout, for a rendering later.

    Call it with every :class:`SimState` of the rollout (it is the ``observer`` of the bundle
    evaluations); :meth:`states` returns the collected rows.

    Args:
        dt: time between calls [s] (the control period).
        env_id: the environment recorded.
    """

    def __init__(self, dt: float, env_id: int = 0) -> None:
        self.dt = dt
        self.env_id = env_id
        self._rows: dict[str, list[np.ndarray]] = {'base_pos': [], 'base_quat': [],
                                                   'joint_pos': []}

    def __call__(self, state: SimState) -> None:
        """Record environment ``env_id`` of ``state``."""
        for key, rows in self._rows.items():
            rows.append(np.array(getattr(state, key)[self.env_id], dtype=float))

    def __len__(self) -> int:
        """Return the number of states recorded."""
        return len(self._rows['joint_pos'])

    def states(self) -> RobotStates:
        """Return the recorded states."""
        return RobotStates(**{key: np.array(rows) for key, rows in self._rows.items()},
                           dt=self.dt)


def trajectory_states(trajectory: Trajectory) -> RobotStates:
    """Return the states of a recorded trajectory (missing base poses stand still at 0)."""
    base_pos, base_quat = trajectory.base_pos, trajectory.base_quat
    if not np.isfinite(base_pos).all() or not np.isfinite(base_quat).all():
        base_pos = np.zeros_like(base_pos)
        base_quat = np.tile([1.0, 0.0, 0.0, 0.0], (len(base_quat), 1))
    return RobotStates(base_pos=base_pos, base_quat=base_quat, joint_pos=trajectory.joint_pos,
                       dt=trajectory.control_dt)


def check_video_path(path: str | os.PathLike, config: VideoConfig) -> pathlib.Path:
    """Return ``path`` as a Path; RenderingError for a suffix or size that cannot be written."""
    path = pathlib.Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise RenderingError(f"video file '{path}': the suffix must be one of "
                             f"{', '.join(VIDEO_SUFFIXES)}")
    if path.suffix.lower() == '.mp4' and (config.width % 2 or config.height % 2):
        raise RenderingError(f'an mp4 needs an even width and height, got '
                             f'{config.width}x{config.height}')
    return path


def _frames(renderer: RobotRenderer, states: RobotStates,
            indices: np.ndarray) -> Iterator[np.ndarray]:
    for index in indices:
        yield renderer.render(states.base_pos[index], states.base_quat[index],
                              states.joint_pos[index])


@dataclasses.dataclass(frozen=True)
class VideoSummary:
    """What a rendering wrote."""

    path: pathlib.Path
    """The file written."""
    frames: int
    """Frames in the file (1 for a PNG)."""
    duration: float
    """Time the frames show [s]."""
    fps: float
    """Frames per second."""


def write_gif(frames: list[np.ndarray], path: str | os.PathLike, fps: float) -> None:
    """Write (H, W, 3) uint8 frames as a looping GIF with one shared palette, not dithered.

    One palette for every frame (from the first, middle and last) and no dithering keep the
    floor's flat colours flat, which LZW compresses well: about half the size of per-frame
    dithered palettes (a 3 s 320x240 clip is about 0.6 MB).
    """
    sample = np.concatenate([frames[0], frames[len(frames) // 2], frames[-1]], axis=0)
    palette = Image.fromarray(sample).quantize(colors=GIF_COLORS,
                                               method=Image.Quantize.MEDIANCUT)
    images = [Image.fromarray(frame).quantize(palette=palette, dither=Image.Dither.NONE)
              for frame in frames]
    images[0].save(path, format='GIF', save_all=True, append_images=images[1:], loop=0,
                   duration=round(1000.0 / fps))


def render_states(states: RobotStates, robot: RobotSpec, path: str | os.PathLike,
                  config: VideoConfig = VideoConfig()) -> VideoSummary:
    """Render ``states`` of ``robot`` to ``path`` (mp4, gif or png), written atomically.

    A video resamples the states to ``config.fps`` (nearest state in time, real time); a PNG
    holds the state halfway through.

    Raises:
        RenderingError: an unknown suffix, an odd mp4 size, or no OpenGL backend.
    """
    path = check_video_path(path, config)
    suffix = path.suffix.lower()
    with RobotRenderer(robot, config) as renderer, atomic_path(path) as temporary:
        if suffix == '.png':
            middle = np.array([len(states.joint_pos) // 2])
            imageio.imwrite(temporary, next(_frames(renderer, states, middle)), format='png')
            return VideoSummary(path, 1, 0.0, config.fps)
        indices = states.frame_indices(config.fps)
        frames = _frames(renderer, states, indices)
        if suffix == '.gif':
            write_gif(list(frames), temporary, config.fps)
        else:
            with imageio.get_writer(temporary, format='FFMPEG', mode='I', fps=config.fps,
                                    codec='libx264', pixelformat='yuv420p', macro_block_size=1,
                                    ffmpeg_log_level='error') as writer:
                for frame in frames:
                    writer.append_data(frame)
    return VideoSummary(path, len(indices), len(indices) / config.fps, config.fps)


def render_trajectory(trajectory: Trajectory, robot: RobotSpec, path: str | os.PathLike,
                      config: VideoConfig = VideoConfig()) -> VideoSummary:
    """Render a recorded trajectory (e.g. the demo's ``trajectory.npz``) to ``path``."""
    return render_states(trajectory_states(trajectory), robot, path, config)
