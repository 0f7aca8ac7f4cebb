# SPDX-License-Identifier: Apache-2.0
"""``robot-learning play``: run a bundle's policy in simulation and record a video.

The rollout is the bundle evaluation of ``evaluate`` with one environment (velocity tracking
with ``--command`` for ``--duration`` seconds, or one of a motion-tracking bundle's motions);
its states, from whichever backend simulated them, are drawn with the robot's MuJoCo model
(``sim/rendering.py``). ``evaluate --video`` and ``demo --video`` use the same options.

``add_play_parser(subparsers)`` registers the command; ``add_video_arguments(parser)`` adds
``--fps``, ``--width`` and ``--height`` to any command that writes a video.
"""

from __future__ import annotations

import argparse

from rich.console import Console

HANDLERS = 'robot_learning.cli.play_commands'
CONSOLE = Console()
DEFAULT_COMMAND = (0.5, 0.0, 0.0)
"""Velocity command played when ``--command`` is not given: walk forward at 0.5 m/s."""


def add_video_arguments(parser: argparse.ArgumentParser, video_help: str,
                        required: bool = False) -> None:
    """Add ``--video FILE``, ``--fps``, ``--width`` and ``--height`` to ``parser``."""
    group = parser.add_argument_group('video (MuJoCo offscreen rendering: EGL, else OSMesa)')
    group.add_argument('--video', default=None, required=required, metavar='FILE',
                       help=video_help)
    group.add_argument('--fps', type=float, default=30.0, help='video frames per second')
    group.add_argument('--width', type=int, default=640, help='image width [pixels]')
    group.add_argument('--height', type=int, default=480, help='image height [pixels]')


def add_play_parser(subparsers) -> None:
    """Register ``play`` on ``subparsers``."""
    parser = subparsers.add_parser(
        'play', help='run a policy bundle in simulation and record a video',
        description="Run the bundle's ONNX policy in one simulated environment and render "
                    'every state with MuJoCo (whatever backend simulated it), with a camera '
                    'that follows the base. Velocity-tracking bundles play --command for '
                    '--duration seconds; motion-tracking bundles play --motion.')
    parser.add_argument('bundle', help='policy bundle folder (holds contract.yaml)')
    parser.add_argument('--backend', default='mujoco', help='mujoco or pybullet')
    parser.add_argument('--reality', default='',
                        help='reality config (config/reality/) to play on instead of --backend')
    parser.add_argument('--command', dest='velocity_command', type=float, nargs=3,
                        default=None, metavar=('VX', 'VY', 'YAW_RATE'),
                        help='velocity command [m/s, m/s, rad/s] (velocity tracking; default '
                             f'{" ".join(str(value) for value in DEFAULT_COMMAND)})')
    parser.add_argument('--duration', type=float, default=None,
                        help='seconds to play (velocity tracking: default 10; motion tracking: '
                             'the whole motion, or at most this long)')
    parser.add_argument('--motion', default=None,
                        help="motion to play (motion tracking; default: the bundle's first)")
    parser.add_argument('--seed', type=int, default=0)
    add_video_arguments(parser, 'video file to write: .mp4, .gif, or .png (one frame)',
                        required=True)
    parser.set_defaults(handler=f'{HANDLERS}:run_play')


def video_config(args: argparse.Namespace):
    """Return the VideoConfig of the parsed ``--fps``, ``--width`` and ``--height``."""
    from robot_learning.sim.rendering import VideoConfig
    return VideoConfig(width=args.width, height=args.height, fps=args.fps)


def prepare_video(args: argparse.Namespace):
    """Check the video options and the OpenGL backend before any simulation runs.

    Returns:
        The VideoConfig to render with.

    Raises:
        RenderingError: bad size, rate or suffix, or no OpenGL backend.
    """
    from robot_learning.sim.rendering import check_video_path, gl_backend
    config = video_config(args)
    check_video_path(args.video, config)
    gl_backend()
    return config


def print_video(summary) -> None:
    """Print what a rendering wrote."""
    what = (f'{summary.frames} frames, {summary.duration:.2f} s at {summary.fps:g} fps'
            if summary.frames > 1 else 'one frame')
    CONSOLE.print(f'video: {summary.path} ({what})')


def run_play(args: argparse.Namespace) -> int:
    """``robot-learning play``."""
    from robot_learning.config import ConfigError
    from robot_learning.evaluation.bundle import evaluate_bundle
    from robot_learning.evaluation.setup import EvaluationConfig, simulation_robot
    from robot_learning.policies.contract import load_contract
    from robot_learning.sim.rendering import render_states, RobotStates, StateRecorder
    contract = load_contract(args.bundle)
    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f'--duration must be positive, got {args.duration}')
    motion_task = contract.task == 'motion_tracking'
    if motion_task:
        if args.velocity_command is not None:
            raise ConfigError(f"{args.bundle} tracks motions (task '{contract.task}'): it takes "
                              f"--motion ({', '.join(contract.motions)}), not --command")
        motion = args.motion or contract.motions[0]
        if motion not in contract.motions:
            raise ConfigError(f"{args.bundle}: no motion '{motion}'; it holds "
                              f"{', '.join(contract.motions)}")
        config = EvaluationConfig(backend=args.backend, reality=args.reality, seed=args.seed,
                                  motions=(motion,))
        what = f"motion '{motion}'"
    elif contract.task == 'velocity_tracking':
        if args.motion is not None:
            raise ConfigError(f"{args.bundle} tracks velocity commands (task '{contract.task}'):"
                              ' it takes --command VX VY YAW_RATE, not --motion')
        command = tuple(args.velocity_command or DEFAULT_COMMAND)
        config = EvaluationConfig(backend=args.backend, reality=args.reality, seed=args.seed,
                                  num_envs=1, episode_length_s=args.duration or 10.0,
                                  command=command)
        what = f'command {command}'
    else:
        raise ConfigError(f'{args.bundle}: play runs velocity- and motion-tracking bundles, '
                          f"not task '{contract.task}'")
    video = prepare_video(args)
    recorder = StateRecorder(contract.control_dt)
    CONSOLE.print(f'playing {args.bundle}: {what} on {args.reality or args.backend}')
    report = evaluate_bundle(args.bundle, config, observer=recorder)
    states = recorder.states()
    if motion_task and args.duration is not None:
        keep = max(1, int(round(args.duration / states.dt)))
        states = RobotStates(states.base_pos[:keep], states.base_quat[:keep],
                             states.joint_pos[:keep], states.dt)
    summary = render_states(states, simulation_robot(contract), args.video, video)
    metrics = report['metrics']
    shown = ('forward_speed', 'lin_vel_error', 'survival_rate') if not motion_task else (
        'success', 'e_g_mpjpe_mm', 'joint_error_rad')
    CONSOLE.print(', '.join(f'{key} {metrics[key]:.3f}' for key in shown if key in metrics))
    print_video(summary)
    return 0
