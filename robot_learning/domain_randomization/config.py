# SPDX-License-Identifier: Apache-2.0
"""Configuration of the domain-randomization method (the ``randomization`` block of a run)."""

from __future__ import annotations

import dataclasses

from robot_learning.config import ConfigError
from robot_learning.domain_randomization.box import ParameterBox

METHODS = ('none', 'uniform', 'adr', 'doraemon')
"""none: nominal dynamics; uniform: UDR over the whole box; adr: OpenAI's automatic domain
randomization; doraemon: entropy maximisation under a success constraint (Tiboni et al. 2024)."""


@dataclasses.dataclass(frozen=True)
class DoraemonConfig:
    """DORAEMON's hyperparameters (defaults: the reference implementation)."""

    success_rate: float = 0.5
    """alpha: the in-distribution success rate the distribution must keep."""
    kl_bound: float = 0.05
    """epsilon: trust region KL(old || new) per update [nats]; the paper uses 0.001-0.1."""
    initial_concentration: float = 100.0
    """Start from Beta(c, c) in every dimension: narrow and centred on the box's middle."""
    concentration_bounds: tuple[float, float] = (1.0, 110.0)
    """Range of each a and b, enforced through a sigmoid; the lower bound 1 is the uniform."""
    warmup_warning_updates: int = 10
    """After this many updates still in warm-up, warn that success may never reach alpha."""

    def __post_init__(self) -> None:
        lower, upper = self.concentration_bounds
        if not 0.0 < self.success_rate < 1.0:
            raise ConfigError(f'randomization.doraemon.success_rate must be in (0, 1), got '
                              f'{self.success_rate}')
        if not self.kl_bound > 0.0:
            raise ConfigError(f'randomization.doraemon.kl_bound must be > 0, got '
                              f'{self.kl_bound}')
        if not 0.0 < lower < upper:
            raise ConfigError('randomization.doraemon.concentration_bounds must satisfy '
                              f'0 < lower < upper, got {self.concentration_bounds}')
        if not lower < self.initial_concentration < upper:
            raise ConfigError(f'randomization.doraemon.initial_concentration '
                              f'{self.initial_concentration} must lie inside '
                              f'concentration_bounds {self.concentration_bounds}')


@dataclasses.dataclass(frozen=True)
class AdrConfig:
    """Automatic domain randomization (OpenAI 2019; the DORAEMON repository's AutoDR)."""

    boundary_probability: float = 0.5
    """Fraction of episodes that pin one parameter to one of its current bounds."""
    buffer_size: int = 20
    """Boundary episodes collected per bound before it is widened or shrunk."""
    success_high: float = 0.5
    """Widen a bound when its buffer's success rate reaches this (t_H)."""
    success_low: float = 0.25
    """Shrink a bound when its buffer's success rate falls to this (t_L)."""
    step_fraction: float = 0.05
    """Size of one widening or shrinking step, as a fraction of the box width."""

    def __post_init__(self) -> None:
        if not 0.0 < self.boundary_probability <= 1.0:
            raise ConfigError('randomization.adr.boundary_probability must be in (0, 1], got '
                              f'{self.boundary_probability}')
        if self.buffer_size < 1:
            raise ConfigError(f'randomization.adr.buffer_size must be >= 1, got '
                              f'{self.buffer_size}')
        if not 0.0 <= self.success_low < self.success_high <= 1.0:
            raise ConfigError('randomization.adr needs 0 <= success_low < success_high <= 1, '
                              f'got {self.success_low} and {self.success_high}')
        if not 0.0 < self.step_fraction <= 1.0:
            raise ConfigError(f'randomization.adr.step_fraction must be in (0, 1], got '
                              f'{self.step_fraction}')


@dataclasses.dataclass(frozen=True)
class RandomizationConfig:
    """Which method randomizes which parameters over which target box."""

    method: str = 'none'
    """One of ``METHODS``."""
    parameters: dict = dataclasses.field(default_factory=dict)
    """The target box: dynamics parameter name -> [low, high] in the parameter's unit."""
    update_every_steps: int = 100_000
    """Environment steps (all environments together) between distribution updates."""
    doraemon: DoraemonConfig = DoraemonConfig()
    """DORAEMON's hyperparameters (method 'doraemon')."""
    adr: AdrConfig = AdrConfig()
    """ADR's hyperparameters (method 'adr')."""

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"randomization.method: unknown method '{self.method}'; valid: "
                              f"{', '.join(METHODS)}")
        if self.update_every_steps < 1:
            raise ConfigError('randomization.update_every_steps must be >= 1, got '
                              f'{self.update_every_steps}')
        if self.parameters or self.method != 'none':
            self.box()

    def box(self) -> ParameterBox:
        """Return the validated target box."""
        return ParameterBox.from_mapping(self.parameters, 'randomization.parameters')
