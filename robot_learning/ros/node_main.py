# SPDX-License-Identifier: Apache-2.0
"""One shell for every robot_learning node: parameter table, ``main``, exit codes, ``--help``.

Each node module describes itself as a :class:`NodeProgram` (its parameter table and how to
build, finish and close the node) and its ``main(args)`` is ``run(PROGRAM, args)``:

- ``--help`` (or ``-h``) before ``--ros-args`` prints the node's summary and parameter table
  (name, type, default, description) and exits 0 without starting ROS;
- rclpy is initialised on a context of its own and the node spins on a single-threaded
  executor until SIGINT, SIGTERM, a shutdown of the context or ``NodeProgram.finished``;
  the signals only set a flag that the spin loop checks, so a signal never interrupts a
  callback (a write, a publish) and the node is closed with its context still valid;
- exit codes, the same for every node: ``EXIT_OK`` (0) a clean stop, ``EXIT_FAULT`` (1) a
  runtime fault (an exception while spinning or closing; the traceback is printed),
  ``EXIT_CONFIG`` (2) a configuration error (bad parameter, missing file, invalid ROS
  arguments), its message printed on stderr and logged.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import traceback
from typing import Any, Callable, Mapping

from rcl_interfaces.msg import ParameterDescriptor
import rclpy
from rclpy.exceptions import NameValidationException, ParameterException
from rclpy.executors import SingleThreadedExecutor
from rclpy.logging import get_logger
from rclpy.node import Node
from rclpy.signals import SignalHandlerOptions

EXIT_OK = 0
"""Clean stop: a signal, a shutdown of the context, or the node finished its job."""
EXIT_FAULT = 1
"""Runtime fault: an exception while spinning or closing the node."""
EXIT_CONFIG = 2
"""Configuration error: the node could not be built from its parameters and arguments."""

ParameterTable = Mapping[str, tuple[Any, str]]
"""Parameter name -> (default, description); the default fixes the parameter's type."""


class NodeConfigError(ValueError):
    """The node cannot start with its parameters (exit code ``EXIT_CONFIG``)."""


CONFIG_ERRORS: tuple[type[BaseException], ...] = (
    ValueError, OSError, KeyError, ParameterException, NameValidationException)
"""Exceptions of a node's construction that are configuration errors (ConfigError, BagError
and NodeConfigError are ValueErrors; a missing file is an OSError)."""


@dataclasses.dataclass(frozen=True)
class NodeProgram:
    """How the shell runs one node."""

    name: str
    """Node name (logger name, help title)."""
    summary: str
    """What the node does, printed by ``--help`` (the module docstring's first paragraph)."""
    parameters: ParameterTable
    """The node's parameter table, printed by ``--help``."""
    create: Callable[[rclpy.Context], Node]
    """Build the node on the given context; raises one of ``CONFIG_ERRORS`` when it cannot."""
    finished: Callable[[Node], bool] = lambda node: False
    """True once the node has done its job and the process should exit 0."""
    close: Callable[[Node], None] = lambda node: None
    """Called once after spinning, context still valid (flush, log statistics)."""


def declare_parameters(node: Node, table: ParameterTable, read_only: bool = False) -> None:
    """Declare every parameter of ``table`` on ``node`` with its description.

    Float parameters take integers too (``-p rate_hz:=50``); read them with
    :func:`parameter_value`.
    """
    for name, (default, description) in table.items():
        node.declare_parameter(name, default, ParameterDescriptor(
            description=description, read_only=read_only,
            dynamic_typing=isinstance(default, float)))


def parameter_value(node: Node, table: ParameterTable, name: str) -> Any:
    """Return parameter ``name`` as the type of its default (float, bool, int, str, list).

    Raises:
        NodeConfigError: a float parameter holding something other than a number.
    """
    value = node.get_parameter(name).value
    default = table[name][0]
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise NodeConfigError(f'parameter {name} must be a number, got {value!r}')
        return float(value)
    return value


def help_text(program: NodeProgram, prog: str) -> str:
    """Return the ``--help`` text: summary, usage and the parameter table."""
    width = max((len(name) for name in program.parameters), default=0)
    lines = [f'{prog}: {program.summary.strip()}', '',
             f'usage: {prog} [--help] [--ros-args [-p NAME:=VALUE ...] '
             '[--params-file FILE] ...]', '', 'parameters (name, type, default):']
    for name, (default, description) in program.parameters.items():
        lines.append(f'  {name:<{width}}  {type(default).__name__:<5}  {default!r}')
        lines.append(f'  {"":<{width}}  {description}')
    lines.append('')
    lines.append('exit codes: 0 clean stop, 1 runtime fault, 2 configuration error')
    return '\n'.join(lines)


def wants_help(args: list[str]) -> bool:
    """Return whether ``-h`` or ``--help`` precedes ``--ros-args`` (``args[0]``: the program)."""
    own = args[1:args.index('--ros-args')] if '--ros-args' in args else args[1:]
    return any(arg in ('-h', '--help') for arg in own)


def run(program: NodeProgram, args: list[str] | None = None) -> int:
    """Run ``program`` until a signal, a shutdown or ``finished``; return the exit code.

    Args:
        program: the node to run.
        args: the command line, program name first (default ``sys.argv``); everything after
            ``--ros-args`` goes to rclpy.
    """
    args = list(sys.argv if args is None else args)
    if wants_help(args):
        print(help_text(program, os.path.basename(args[0]) if args else program.name))
        return EXIT_OK
    logger = get_logger(program.name)
    stop = threading.Event()
    context = rclpy.Context()
    try:
        rclpy.init(args=args, context=context,
                   signal_handler_options=SignalHandlerOptions.NO)
    except RuntimeError as error:  # invalid --ros-args
        return _config_error(logger, f'invalid arguments {args[1:]}: {error}')
    previous = {number: signal.signal(number, lambda *_: stop.set())
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            node = program.create(context)
        except CONFIG_ERRORS as error:
            return _config_error(logger, str(error))
        except Exception:  # anything else while starting is a fault, not a bad parameter
            return _fault(logger, 'fault while starting')
        return _spin(program, node, context, stop, logger)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        rclpy.try_shutdown(context=context)


def _spin(program: NodeProgram, node: Node, context: rclpy.Context, stop: threading.Event,
          logger) -> int:
    code = EXIT_OK
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    try:
        while context.ok() and not stop.is_set() and not program.finished(node):
            executor.spin_once(timeout_sec=0.1)
    except Exception:  # any callback's failure is a runtime fault
        code = _fault(logger, 'runtime fault')
    try:
        program.close(node)
    except Exception:
        code = _fault(logger, 'fault while closing')
    executor.shutdown()
    node.destroy_node()
    return code


def _config_error(logger, message: str) -> int:
    print(f'configuration error: {message}', file=sys.stderr, flush=True)
    logger.fatal(f'configuration error: {message}')
    return EXIT_CONFIG


def _fault(logger, what: str) -> int:
    text = traceback.format_exc()
    print(text, file=sys.stderr, flush=True)
    logger.fatal(f'{what}: {text.strip().splitlines()[-1]}')
    return EXIT_FAULT
