# SPDX-License-Identifier: Apache-2.0
"""``robot-learning search fit|plan`` end to end (synthetic demonstrations through rosbags)."""

import json

import numpy as np

from robot_learning.cli.main import build_parser, main


def test_fit_from_synthetic_bags_then_plan(tmp_path, capsys):
    demos, model = tmp_path / 'demos', tmp_path / 'model.json'
    assert main(['search', 'fit', '--synthetic', '4', '--level', 'medium', '--save-demos',
                 str(demos), '--output', str(model)]) == 0
    bags = sorted(str(path) for path in demos.iterdir())
    assert len(bags) == 4
    again = tmp_path / 'again.json'
    assert main(['search', 'fit', *bags, '--output', str(again)]) == 0
    first, second = (json.loads(path.read_text()) for path in (model, again))
    np.testing.assert_allclose(first['distribution']['means'], second['distribution']['means'],
                               atol=1e-9)
    plan = tmp_path / 'plan.npz'
    assert main(['search', 'plan', str(model), '--duration', '5', '--output', str(plan)]) == 0
    assert 'ergodic metric' in ' '.join(capsys.readouterr().out.split())  # rich wraps lines
    with np.load(plan) as data:
        assert data['positions'].shape == (501, 2) and float(data['dt']) == 0.01


def test_fit_without_demonstrations_is_an_error(tmp_path, capsys):
    assert main(['search', 'fit', '--output', str(tmp_path / 'm.json')]) == 2
    assert 'no demonstrations' in ' '.join(capsys.readouterr().err.split())


def test_node_search_node_is_a_node_name():
    args = build_parser().parse_args(['node', 'search_node', '--ros-args', '-p',
                                      'model:=m.json'])
    assert args.name == 'search_node'
