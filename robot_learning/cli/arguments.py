# SPDX-License-Identifier: Apache-2.0
"""Argument conventions shared by the subcommands: config overrides and replaced options.

- Config overrides are positional ``key.sub=value`` arguments on every command that reads a
  YAML config (``train``, ``delta fit|evaluate``, ``ccil augment|train``). Where the positional
  arguments are also files (bags, demonstrations), one list takes both and
  :func:`split_overrides` tells them apart; a bad key is a ``ConfigError`` naming it.
- ``--set PARAM=VALUE`` sets dynamics values only (``evaluate``, ``impedance excite``).
- ``--output`` names what a command writes: a folder, with fixed file names inside
  (``report.json``, plots), when it writes several files or a report; the file itself when
  one file is the product (``ccil collect``, ``search fit|plan``, ``bag export``,
  ``bundle controllers``, ``impedance excite``, ``motion clip``).
- An option that was replaced stays registered, hidden, and fails with the replacement
  (:func:`add_replaced_option`), so an old command line gets an answer instead of a guess.
"""

from __future__ import annotations

import argparse
import pathlib
import re

OVERRIDE = re.compile(r'[A-Za-z_][A-Za-z0-9_.]*=')
"""A positional argument of this form (and no such path) is a ``key.sub=value`` override."""


def split_overrides(arguments: list[str]) -> tuple[list[str], list[str]]:
    """Split positional arguments into (paths, overrides).

    An argument is an override when it reads ``key.sub=value`` and names no existing path;
    both lists keep the order of ``arguments``.
    """
    paths, overrides = [], []
    for argument in arguments:
        is_override = OVERRIDE.match(argument) and not pathlib.Path(argument).exists()
        (overrides if is_override else paths).append(argument)
    return paths, overrides


class ReplacedOption(argparse.Action):
    """A hidden option that fails parsing with a message naming its replacement."""

    def __init__(self, option_strings, dest, replacement: str, **kwargs) -> None:
        """Register the option hidden, taking any number of values; keep ``replacement``."""
        kwargs.update(nargs='*', help=argparse.SUPPRESS, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        """Exit with status 2 and the replacement (argparse's usage error)."""
        parser.error(f'{option_string} was replaced: {self.replacement}')


def add_replaced_option(parser: argparse.ArgumentParser, flag: str, replacement: str) -> None:
    """Register ``flag`` on ``parser`` as a hidden option that fails with ``replacement``."""
    parser.add_argument(flag, dest=f'replaced_{flag.strip("-").replace("-", "_")}',
                        action=ReplacedOption, replacement=replacement)
