# SPDX-License-Identifier: Apache-2.0
"""Process helpers shared by the integration tests that start ROS 2 nodes as subprocesses."""

import pathlib
import subprocess


def stop_node(process: subprocess.Popen) -> int:
    """Terminate (SIGTERM) and reap a node process, killing it after 10 s; return its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10.0)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def log_tail(log: pathlib.Path, lines: int = 30) -> str:
    """Return the last ``lines`` lines of a node's log file (for assertion messages)."""
    return '\n'.join(log.read_text(encoding='utf-8').splitlines()[-lines:])
