# SPDX-License-Identifier: Apache-2.0
"""The update schedule counts environment steps and keeps a kill-safe history."""

from __future__ import annotations

import json

import numpy as np

from robot_learning.domain_randomization.box import ParameterBox
from robot_learning.domain_randomization.config import DoraemonConfig
from robot_learning.domain_randomization.doraemon import DoraemonRandomization
from robot_learning.domain_randomization.schedule import (HISTORY_FILE, RandomizationSchedule,
                                                          read_history)


def test_updates_every_k_steps_and_writes_one_line_each(tmp_path, caplog):
    box = ParameterBox.from_mapping({'kp_scale': [0.8, 1.2]})
    randomizer = DoraemonRandomization(box, DoraemonConfig())
    schedule = RandomizationSchedule(randomizer, update_every_steps=250,
                                     steps_per_iteration=100, run_dir=tmp_path)
    rows = []
    for iteration in range(6):
        values, tags = randomizer.sample(10, np.random.default_rng(iteration))
        randomizer.record(values, np.ones(10, dtype=bool), tags)
        rows.append(schedule.after_iteration(iteration))
    # 100 steps per iteration, K = 250: updates after iterations 2 (300 steps) and 5 (600).
    assert [row is not None for row in rows] == [False, False, True, False, False, True]
    assert rows[2]['episodes'] == 30 and rows[2]['env_steps'] == 300
    assert rows[2]['status'] == 'entropy_step'
    history = read_history(tmp_path)
    assert [row['iteration'] for row in history] == [2, 5]
    assert history[1]['entropy'] > history[0]['entropy']
    # A kill in the middle of a write leaves a truncated last line: it is skipped, not fatal.
    with open(tmp_path / HISTORY_FILE, 'a', encoding='utf-8') as stream:
        stream.write(json.dumps(history[0])[:20])
    assert len(read_history(tmp_path)) == 2
    assert 'unreadable line skipped' in caplog.text


def test_state_restores_counters_and_distribution(tmp_path):
    box = ParameterBox.from_mapping({'kp_scale': [0.8, 1.2]})
    schedule = RandomizationSchedule(DoraemonRandomization(box, DoraemonConfig()), 100, 100,
                                     None)
    schedule.randomizer.record(np.ones((5, 1)), np.ones(5, dtype=bool), np.full(5, -1))
    schedule.after_iteration(0)
    restored = RandomizationSchedule(DoraemonRandomization(box, DoraemonConfig()), 100, 100,
                                     None)
    restored.load_state_dict(schedule.state_dict())
    assert restored.env_steps == 100
    assert restored.randomizer.entropy() == schedule.randomizer.entropy()


def test_resume_drops_history_written_after_the_checkpoint(tmp_path):
    box = ParameterBox.from_mapping({'kp_scale': [0.8, 1.2]})
    schedule = RandomizationSchedule(DoraemonRandomization(box, DoraemonConfig()), 100, 100,
                                     tmp_path)
    for iteration in range(4):
        schedule.after_iteration(iteration)
        if iteration == 1:
            checkpoint = schedule.state_dict()  # then the run is killed after iteration 3
    resumed = RandomizationSchedule(DoraemonRandomization(box, DoraemonConfig()), 100, 100,
                                    tmp_path)
    resumed.load_state_dict(checkpoint)
    assert [row['env_steps'] for row in read_history(tmp_path)] == [100, 200]
