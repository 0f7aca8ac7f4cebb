# SPDX-License-Identifier: Apache-2.0
"""Mean ± sample standard deviation over seeds, against hand-worked values."""

from __future__ import annotations

import pytest

from robot_learning.evaluation.seeds import format_mean_std, seed_statistics


def test_mean_and_sample_std_over_three_seeds():
    # success 0.9, 1.0, 0.8: mean 0.9, deviations -0, 0.1, -0.1 -> variance 0.02 / 2 = 0.01
    statistics = seed_statistics({0: {'success': 0.9, 'name': 'a'}, 1: {'success': 1.0},
                                  2: {'success': 0.8, 'flag': True}})
    assert set(statistics) == {'success'}  # text and booleans are not metrics
    assert statistics['success']['mean'] == pytest.approx(0.9)
    assert statistics['success']['std'] == pytest.approx(0.1)
    assert statistics['success']['seeds'] == 3
    assert format_mean_std(statistics['success']) == '0.900 ± 0.100 (3)'


def test_one_seed_has_zero_spread_and_a_metric_missing_in_a_run_counts_its_seeds():
    statistics = seed_statistics({0: {'a': 2.0, 'b': 1}, 1: {'a': 4.0}})
    assert statistics['a'] == {'mean': 3.0, 'std': pytest.approx(2.0 ** 0.5), 'seeds': 2}
    assert statistics['b'] == {'mean': 1.0, 'std': 0.0, 'seeds': 1}
