# SPDX-License-Identifier: Apache-2.0
"""Peak resident memory of PPO training on the CPU (default: the 1024-environment config).

Usage: ``python benchmarks/training_memory.py --iterations 5``
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

from robot_learning.config import load_config
from robot_learning.paths import share_dir
from robot_learning.rl.train_config import TrainConfig
from robot_learning.rl.training import train


def main() -> None:
    """Train briefly and print the peak RSS of this process."""
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=str(share_dir() / 'config/train/quadruped_flat.yaml'))
    parser.add_argument('--iterations', type=int, default=5)
    parser.add_argument('overrides', nargs='*')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as run_dir:
        config = load_config(TrainConfig, args.config, [
            *args.overrides, f'max_iterations={args.iterations}', f'run_dir={run_dir}'])
        start = time.perf_counter()
        train(config)
        elapsed = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    print(f'environments {config.task.num_envs}, iterations {args.iterations}, '
          f'{elapsed:.1f} s: peak RSS {peak_mib:.0f} MiB')


if __name__ == '__main__':
    main()
