# SPDX-License-Identifier: Apache-2.0
"""Randomization methods: one plain dict ``name -> constructor``.

:func:`make_randomizer` builds the ``Randomizer`` that a ``RandomizationConfig`` names.
"""

from __future__ import annotations

from typing import Callable

from robot_learning.config import ConfigError
from robot_learning.domain_randomization.adr import AdrRandomization
from robot_learning.domain_randomization.config import RandomizationConfig
from robot_learning.domain_randomization.doraemon import DoraemonRandomization
from robot_learning.domain_randomization.randomizer import (NominalDynamics, Randomizer,
                                                            UniformRandomization)


def _none(config: RandomizationConfig) -> Randomizer | None:
    """Nominal dynamics: the box's nominal values when it names parameters, else no randomizer."""
    return NominalDynamics(config.box()) if config.parameters else None


def _uniform(config: RandomizationConfig) -> Randomizer:
    return UniformRandomization(config.box())


def _adr(config: RandomizationConfig) -> Randomizer:
    return AdrRandomization(config.box(), config.adr)


def _doraemon(config: RandomizationConfig) -> Randomizer:
    return DoraemonRandomization(config.box(), config.doraemon)


RANDOMIZERS: dict[str, Callable[[RandomizationConfig], Randomizer | None]] = {
    'none': _none,
    'uniform': _uniform,
    'adr': _adr,
    'doraemon': _doraemon,
}
"""Every randomization method by name (the keys are ``config.METHODS``)."""


def make_randomizer(config: RandomizationConfig) -> Randomizer | None:
    """Return the configured method, or None for 'none' without parameters.

    Raises:
        ConfigError: unknown method (the message lists the valid names).
    """
    try:
        constructor = RANDOMIZERS[config.method]
    except KeyError:
        raise ConfigError(f"randomization.method: unknown method '{config.method}'; valid: "
                          f"{', '.join(RANDOMIZERS)}") from None
    return constructor(config)
