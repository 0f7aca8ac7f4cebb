# SPDX-License-Identifier: Apache-2.0
"""Packaging for robot_learning: a pip project and a ROS 2 ament_python package at once."""

import collections
import glob
import os

from setuptools import find_packages, setup

package_name = 'robot_learning'
share = os.path.join('share', package_name)


def share_files(*patterns: str) -> list[tuple[str, list[str]]]:
    """Map repository files matching ``patterns`` to ``share/<pkg>/<same relative folder>``.

    Patterns are relative to this file and may use ``**``; sub-folders are kept
    (``config/robots/a1.yaml`` installs to ``share/robot_learning/config/robots/``).
    """
    here = os.path.dirname(os.path.abspath(__file__))
    by_folder = collections.defaultdict(list)
    for pattern in patterns:
        for path in sorted(glob.glob(os.path.join(here, pattern), recursive=True)):
            if os.path.isfile(path):
                relative = os.path.relpath(path, here)
                by_folder[os.path.join(share, os.path.dirname(relative))].append(relative)
    return sorted(by_folder.items())


ros_requires = [
    # ROS 2 (Kilted) as pip wheels; on a robot the system's ROS 2 provides these instead.
    # rclpy does not import without the middleware wheels (rmw-fastrtps-cpp, fastdds).
    'ros-rclpy',
    'ros-rcl-interfaces',
    'ros-lifecycle-msgs',
    'ros-ament-index-python',
    'ros-rmw-fastrtps-cpp',
    'ros-fastdds',
    'ros-builtin-interfaces',
    'ros-std-msgs',
    'ros-sensor-msgs',
    'ros-geometry-msgs',
    'ros-nav-msgs',
    'ros-trajectory-msgs',
    'ros-diagnostic-msgs',
    'ros-std-srvs',
    'ros-rosgraph-msgs',
]

dev_requires = [
    'pytest',
    'pytest-timeout',
    # test/integration/test_colcon_install.py builds the package with colcon (a plain install).
    # colcon-core pins setuptools<80, so this venv gets setuptools 79.
    'colcon-core',
    'colcon-ros',
    'colcon-bash',
    # CI tests the mujoco_warp backend on Warp's CPU device.
    'mujoco-warp==4.0.0',
    'warp-lang==1.19.0',
    # The ament_flake8 profile: flake8 enforces every installed plugin.
    'flake8>=7,<8',
    'flake8-builtins',
    'flake8-comprehensions',
    'flake8-docstrings',
    'flake8-import-order',
    'flake8-quotes',
]

# `bag export --format lerobot` writes LeRobot datasets through the `lerobot-dataset` package
# (LeRobotDataset without lerobot's robot/policy dependencies; the full `lerobot` needs Python
# >= 3.12 or pins a CUDA torch). `make venv` installs that package itself with `--no-deps`: its
# declared requirements (opencv-python-headless, imageio[ffmpeg], cmake, packaging<26) would
# downgrade numpy and packaging and are not used when datasets are written and read. These are
# the modules its LeRobotDataset does import.
lerobot_requires = [
    'datasets>=4.0,<4.2',
    'huggingface-hub>=0.34.2,<0.36',
    'pandas',
    'pyarrow',
    'av>=15,<16',
    # Unpinned like torch: `make venv` installs torchvision==0.28.0 (the one for torch 2.13.0)
    # first. PyPI's x86-64 torchvision is a CUDA build whose operators do not load next to the
    # CPU torch; robot_learning/data/lerobot_export.py copes (images and videos are not used).
    'torchvision',
]

setup(
    name=package_name,
    version='0.1.0',
    description='Sim-to-real toolkit for legged robots and arms, shipped as a ROS 2 package.',
    license='Apache-2.0',
    python_requires='>=3.10',
    packages=find_packages(exclude=['test', 'test.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        (share, ['package.xml']),
        # Every data folder a node reads at run time, whole (test_colcon_install.py compares
        # the installed share folder with the checkout).
        *share_files(
            'launch/*.launch.py',
            'config/**/*',
            'urdf/**/*',
            'policies/**/*',
            'motions/**/*',
        ),
    ],
    install_requires=[
        'numpy',
        'scipy',
        'pyyaml',
        'mujoco>=3.3,<5',
        'pybullet',
        # Left unpinned on purpose: `make venv` installs `torch==2.13.0` (the CPU build on
        # these machines) BEFORE this project, so this requirement is already satisfied and pip
        # never fetches another (multi-GB CUDA) torch. Install torch first when not using make.
        'torch',
        'rsl-rl-lib>=5,<6',
        'tensordict',
        'onnx',
        'onnxscript',
        'onnxruntime',
        'tensorboard',
        'rich',
        'rosbags>=0.11',
        'mcap',
        'matplotlib',
        'scikit-learn>=1.4',
        'threadpoolctl',
        'xacro',  # robot descriptions written as .urdf.xacro
        'imageio',  # videos of rollouts (play, --video): mp4 through imageio-ffmpeg, gif, png
        'imageio-ffmpeg',
        'pillow',  # GIFs with a shared palette
    ],
    extras_require={
        'ros': ros_requires,
        'dev': dev_requires,
        # The mujoco_warp backend (GPU, or Warp's CPU device), matching mujoco 4.0.
        'warp': ['mujoco-warp==4.0.0', 'warp-lang==1.19.0'],
        'lerobot': lerobot_requires,
    },
    zip_safe=True,
    entry_points={
        'console_scripts': [
            'robot-learning = robot_learning.cli.main:main',
            'policy_node = robot_learning.ros.policy_node:main',
            'sim_bridge = robot_learning.ros.sim_bridge_node:main',
            'recorder = robot_learning.ros.recorder_node:main',
            'search_node = robot_learning.ros.search_node:main',
            'excitation_node = robot_learning.ros.excitation_node:main',
        ],
    },
)
