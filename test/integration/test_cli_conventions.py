# SPDX-License-Identifier: Apache-2.0
"""CLI conventions: ``--output DIR`` holds the report, overrides are ``key.sub=value``.

The former ``--report FILE`` fails with its replacement; a bad override key is an error that
names it.
"""

from __future__ import annotations

import json

import pytest

from robot_learning.cli.main import main
from robot_learning.paths import share_dir

QUADRUPED = share_dir() / 'policies' / 'quadruped_flat'
HUMANOID = share_dir() / 'policies' / 'humanoid_motion'


def test_evaluate_writes_report_json_into_the_output_folder(tmp_path):
    assert main(['evaluate', str(QUADRUPED), '--num-envs', '2', '--episode-length', '1.5',
                 '--output', str(tmp_path / 'eval')]) == 0
    report = json.loads((tmp_path / 'eval' / 'report.json').read_text())
    assert report['metrics']['episodes'] == 2
    assert sorted(path.name for path in (tmp_path / 'eval').iterdir()) == ['report.json']


def test_motion_evaluate_writes_report_json_into_the_output_folder(tmp_path):
    assert main(['motion', 'evaluate', str(HUMANOID), '--motions', 'squat',
                 '--output', str(tmp_path / 'eval')]) == 0
    report = json.loads((tmp_path / 'eval' / 'report.json').read_text())
    assert list(report['motions']) == ['squat']


@pytest.mark.parametrize('argv', [
    ['evaluate', str(QUADRUPED), '--report', 'r.json'],
    ['motion', 'evaluate', str(HUMANOID), '--report', 'r.json'],
    ['ccil', 'evaluate', '--expert', '--task', 'arm_reach', '--report', 'r.json'],
    ['bag', 'export', 'bag', '--contract', str(QUADRUPED), '--output', 'x.npz', '--report',
     'r.json'],
])
def test_the_former_report_option_names_its_replacement(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert '--report was replaced: ' in error and 'report.json' in error
    assert not list(tmp_path.iterdir())  # nothing ran


def test_delta_finetune_takes_positional_overrides_and_names_a_bad_key(tmp_path, capsys):
    assert main(['delta', 'finetune', str(tmp_path / 'run'), 'finetune.iterationz=3',
                 '--output', str(tmp_path / 'out'), '--bundle', str(tmp_path / 'bundle'),
                 '--sysid', str(tmp_path / 'sysid.yaml')]) == 2
    error = capsys.readouterr().err
    assert 'unknown config key(s) finetune.iterationz in FinetuneConfig' in error
    assert not list(tmp_path.iterdir())
