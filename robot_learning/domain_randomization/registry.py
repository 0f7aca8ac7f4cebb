# SPDX-License-Identifier: Apache-2.0
"""Build the ``Randomizer`` that a ``RandomizationConfig`` names."""

from __future__ import annotations

from robot_learning.domain_randomization.adr import AdrRandomization
from robot_learning.domain_randomization.config import RandomizationConfig
from robot_learning.domain_randomization.doraemon import DoraemonRandomization
from robot_learning.domain_randomization.randomizer import (NominalDynamics, Randomizer,
                                                            UniformRandomization)


def make_randomizer(config: RandomizationConfig) -> Randomizer | None:
    """Return the configured method, or None for 'none' without parameters."""
    if config.method == 'none':
        return NominalDynamics(config.box()) if config.parameters else None
    box = config.box()
    if config.method == 'uniform':
        return UniformRandomization(box)
    if config.method == 'adr':
        return AdrRandomization(box, config.adr)
    return DoraemonRandomization(box, config.doraemon)
