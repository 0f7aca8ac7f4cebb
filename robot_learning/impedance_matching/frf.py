# SPDX-License-Identifier: Apache-2.0
"""Frequency-response estimation: the H1 estimator, coherence and the band kept for fitting.

``H1(f) = S_uy(f) / S_uu(f)`` with Welch-averaged cross and auto spectra
(``scipy.signal.csd`` / ``welch``: Hann window, 50 % overlap, mean removed per segment) is
unbiased under output (measurement) noise. The coherence
``|S_uy|^2 / (S_uu S_yy)`` in [0, 1] says how much of the output is linear in the input; the
band kept for fitting is the excited band where it is at least ``coherence_threshold``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy import signal

from robot_learning.config import ConfigError


@dataclasses.dataclass(frozen=True)
class FrfConfig:
    """Estimator settings."""

    coherence_threshold: float = 0.9
    """Keep frequencies whose coherence is at least this."""
    cycles_per_segment: float = 2.0
    """Welch segment length in periods of the lowest frequency (resolution f_low / this)."""
    min_segments: int = 4
    """Fewest Welch segments (50 % overlap) accepted; with one, the coherence is always 1."""

    def __post_init__(self) -> None:
        if not 0.0 < self.coherence_threshold < 1.0:
            raise ConfigError('frf.coherence_threshold must be in (0, 1), got '
                              f'{self.coherence_threshold:g}')
        if self.cycles_per_segment < 1.0 or self.min_segments < 2:
            raise ConfigError('frf: need cycles_per_segment >= 1 and min_segments >= 2')


@dataclasses.dataclass(frozen=True)
class FrequencyResponse:
    """An estimated frequency response; every array has shape (F,)."""

    frequency: np.ndarray
    """[Hz]"""
    response: np.ndarray
    """Complex gain, output unit per input unit."""
    coherence: np.ndarray
    """Magnitude-squared coherence in [0, 1]."""
    kept: np.ndarray
    """bool: inside the excited band and coherent enough to fit."""

    @property
    def magnitude_db(self) -> np.ndarray:
        """20 log10 |H| [dB]."""
        return 20.0 * np.log10(np.abs(self.response))

    @property
    def phase_deg(self) -> np.ndarray:
        """Unwrapped phase [deg]."""
        return np.degrees(np.unwrap(np.angle(self.response)))


def segment_length(rate: float, f_low: float, config: FrfConfig) -> int:
    """Welch segment length [samples] that resolves ``f_low`` [Hz] at ``rate`` [Hz]."""
    return int(math.ceil(config.cycles_per_segment / f_low * rate))


def minimum_duration(rate: float, f_low: float, config: FrfConfig) -> float:
    """Shortest recording [s] that gives ``min_segments`` half-overlapping segments."""
    nperseg = segment_length(rate, f_low, config)
    return (nperseg + (config.min_segments - 1) * (nperseg // 2)) / rate


def estimate_frf(command: np.ndarray, output: np.ndarray, rate: float, band: tuple[float, float],
                 config: FrfConfig = FrfConfig(), what: str = 'recording'
                 ) -> FrequencyResponse:
    """Estimate the response from ``command`` (T,) to ``output`` (T,), both sampled at ``rate``.

    Args:
        command: input samples.
        output: output samples (same length).
        rate: sample rate [Hz].
        band: the excited band (f_low, f_high) [Hz]; frequencies outside are not kept.
        config: estimator settings.
        what: how errors name the signal, e.g. 'FL_calf_joint (trial 0)'.

    Raises:
        ConfigError: a recording too short for ``f_low``, or coherence below the threshold at
            every frequency of the band.
    """
    command, output = np.asarray(command, dtype=float), np.asarray(output, dtype=float)
    if command.shape != output.shape or command.ndim != 1:
        raise ValueError(f'{what}: command and output must be equal-length 1-D arrays, got '
                         f'{command.shape} and {output.shape}')
    f_low, f_high = band
    needed = minimum_duration(rate, f_low, config)
    if command.size / rate < needed:
        raise ConfigError(f'{what}: {command.size / rate:.3g} s is too short for the lowest '
                          f'frequency {f_low:g} Hz: the estimate needs at least {needed:.3g} s '
                          f'({config.min_segments} half-overlapping segments of '
                          f'{config.cycles_per_segment:g} periods)')
    # The longest segments that tile the recording exactly (no tail left out).
    shortest = segment_length(rate, f_low, config)
    count = max(config.min_segments, 2 * command.size // shortest - 1)
    nperseg = 2 * command.size // (count + 1)
    options = {'fs': rate, 'window': 'hann', 'nperseg': nperseg, 'noverlap': nperseg // 2,
               'detrend': 'constant'}
    frequency, s_uy = signal.csd(command, output, **options)
    _, s_uu = signal.welch(command, **options)
    _, s_yy = signal.welch(output, **options)
    with np.errstate(divide='ignore', invalid='ignore'):
        response = s_uy / s_uu
        coherence = np.abs(s_uy) ** 2 / (s_uu * s_yy)
    coherence = np.nan_to_num(coherence, nan=0.0)
    in_band = (frequency >= f_low) & (frequency <= f_high) & (frequency > 0)
    kept = in_band & (coherence >= config.coherence_threshold) & np.isfinite(response)
    if not kept.any():
        best = coherence[in_band].max() if in_band.any() else 0.0
        raise ConfigError(f'{what}: coherence below {config.coherence_threshold:g} at every '
                          f'frequency of {f_low:g}-{f_high:g} Hz (at most {best:.2f}); the '
                          'output does not follow the command (noise, wrong joint, or no '
                          'motion)')
    band_mask = in_band & np.isfinite(response)
    return FrequencyResponse(frequency=frequency[band_mask], response=response[band_mask],
                             coherence=coherence[band_mask], kept=kept[band_mask])
