# SPDX-License-Identifier: Apache-2.0
"""The socket's chamfer logic: turn toward alignment, release a stuck blade (hand-worked)."""

import pytest

from robot_learning.ergodic_search.peg_in_hole import ChamferEpisode, PegInHoleConfig

CONFIG = PegInHoleConfig(variant='socket', turn_delay=0.01, yaw_lead=0.015, release_time=0.1)
DT = 0.002


def test_the_lead_follows_the_chamfers_turn_after_the_delay():
    episode = ChamferEpisode()
    # Dropped at yaw 0.07; the chamfer turns the blade toward 0 by 0.001 rad per step.
    yaws = [0.07 - 0.001 * step for step in range(10)]
    paused = [episode.update(True, 0.0006 + 0.0001 * step, yaw, DT, CONFIG)
              for step, yaw in enumerate(yaws)]
    assert all(paused)
    # 5 steps of 2 ms = turn_delay: the turn is known (negative), the target leads by 0.015.
    assert episode.turn == -1.0
    assert episode.target_yaw(0.061, 0.001, CONFIG) == 0.061 - 0.015
    # Below the chamfer (1.5 mm) the slot's walls align the blade: no lead.
    assert episode.target_yaw(0.061, 0.002, CONFIG) == 0.061


def test_a_blade_stuck_on_the_chamfer_is_released_until_it_is_back_above():
    episode = ChamferEpisode()
    # The drop stays at 1 mm (never grows by 0.2 mm): released after 0.1 s = 50 steps.
    paused = [episode.update(True, 0.001, 0.1, DT, CONFIG) for _ in range(60)]
    assert paused[:50] == [True] * 50 and paused[50:] == [False] * 10
    # Still down: drops are ignored; back above detect_depth, then down again: paused anew.
    assert not episode.update(True, 0.001, 0.1, DT, CONFIG)
    assert not episode.update(False, 0.0, 0.1, DT, CONFIG)
    assert episode.update(True, 0.0006, 0.1, DT, CONFIG)


def test_a_sinking_blade_is_not_released():
    episode = ChamferEpisode()
    # 0.11 mm deeper every 20 steps: more than 0.2 mm every 40 steps (0.08 s < 0.1 s).
    paused = [episode.update(True, 0.0006 + 0.00011 * (step // 20), 0.0, DT, CONFIG)
              for step in range(200)]
    assert all(paused)


def test_negative_times_are_rejected():
    with pytest.raises(ValueError, match='release_time'):
        PegInHoleConfig(release_time=-1.0)
