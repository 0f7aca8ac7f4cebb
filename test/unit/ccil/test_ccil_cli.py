# SPDX-License-Identifier: Apache-2.0
"""``robot-learning ccil collect|augment|train|evaluate`` end to end on small budgets."""

import json

import numpy as np
import pytest
import torch

from robot_learning.ccil.augmentation import load_labels
from robot_learning.ccil.demonstrations import load_demonstrations
from robot_learning.ccil.dynamics import load_dynamics
from robot_learning.cli.main import main
from robot_learning.paths import share_dir
from robot_learning.policies.runtime import PolicyRuntime

SMALL = ['dynamics.hidden=[32,32]', 'dynamics.epochs=3', 'bc.hidden=[32,32]', 'bc.epochs=3']


def test_collect_augment_train_evaluate_on_the_arm(tmp_path):
    demos_path = tmp_path / 'demos.npz'
    assert main(['ccil', 'collect', '--task', 'arm_reach', '--trajectories', '2',
                 '--output', str(demos_path)]) == 0
    demos = load_demonstrations(demos_path)
    assert demos.robot == 'arm' and demos.num_trajectories == 2 and demos.state_dim == 13

    assert main(['ccil', 'augment', str(demos_path), *SMALL, '--config',
                 str(share_dir() / 'config' / 'ccil' / 'arm_reach.yaml'),
                 '--output', str(tmp_path / 'aug')]) == 0
    report = json.loads((tmp_path / 'aug' / 'report.json').read_text())
    assert report['config']['dynamics']['epochs'] == 3  # the positional overrides
    labels = load_labels(tmp_path / 'aug' / 'labels.npz')
    assert report['labels']['kept'] == len(labels) > 0
    assert report['transitions'] == demos.num_samples - 2
    assert (tmp_path / 'aug' / 'labels.png').stat().st_size > 0
    model = load_dynamics(tmp_path / 'aug' / 'dynamics.pt')
    states, actions, _ = demos.transitions()
    assert model.predict(states[:3], actions[:3]).shape == (3, 13)

    assert main(['ccil', 'train', str(demos_path), *SMALL, '--method', 'ccil', '--labels',
                 str(tmp_path / 'aug' / 'labels.npz'),
                 '--std-floor-task', 'arm_reach', '--output', str(tmp_path / 'policy')]) == 0
    provenance = json.loads((tmp_path / 'policy' / 'provenance.json').read_text())
    assert provenance['samples'] == demos.num_samples + len(labels)
    # The last joint does not move in a reach: its scale is the task's 0.01 rad noise floor.
    policy = torch.jit.load(str(tmp_path / 'policy' / 'policy.pt'))
    assert float(policy.observation_std[6]) == pytest.approx(0.01)
    assert main(['ccil', 'train', str(demos_path), *SMALL, '--method', 'bc',
                 '--std-floor-task', 'quadruped_velocity',
                 '--output', str(tmp_path / 'p2')]) == 2  # 48 noise values for 13 states

    assert main(['ccil', 'evaluate', str(tmp_path / 'policy'), '--task', 'arm_reach',
                 '--episodes', '2', '--output', str(tmp_path / 'eval')]) == 0
    metrics = json.loads((tmp_path / 'eval' / 'report.json').read_text())['metrics']
    assert metrics['episodes'] == 2 and 0.0 <= metrics['score'] <= 1.0


def test_a_quadruped_clone_is_a_policy_bundle_for_the_runtime(tmp_path):
    demos_path = tmp_path / 'demos.npz'
    assert main(['ccil', 'collect', '--task', 'quadruped_velocity', '--trajectories', '1',
                 '--output', str(demos_path)]) == 0
    bundle = share_dir() / 'policies' / 'quadruped_flat'
    assert main(['ccil', 'train', str(demos_path), *SMALL, '--method', 'bc', '--contract',
                 str(bundle), '--output', str(tmp_path / 'clone')]) == 0
    runtime = PolicyRuntime(tmp_path / 'clone')
    assert runtime.contract.provenance['method'] == 'bc'
    states = load_demonstrations(demos_path).states[0][:5]
    actions = runtime.act(states)
    scripted = torch.jit.load(str(tmp_path / 'clone' / 'policy.pt'))
    with torch.no_grad():
        expected = scripted(torch.as_tensor(states, dtype=torch.float32)).numpy()
    np.testing.assert_allclose(actions, expected, atol=1e-5)


def test_cli_errors_name_the_problem(tmp_path, capsys):
    assert main(['ccil', 'evaluate', '--task', 'arm_reach']) == 2
    assert 'give a policy folder or --expert' in capsys.readouterr().err
    assert main(['ccil', 'train', str(tmp_path / 'none.npz'), '--output',
                 str(tmp_path / 'p')]) == 2
    assert 'none.npz' in capsys.readouterr().err
    bad = tmp_path / 'bad.npz'
    np.savez(bad, metadata=np.array(json.dumps({'robot': 'robo_dog', 'control_dt': 0.02})),
             states=np.zeros((4, 2)), actions=np.zeros((4, 1)), lengths=np.array([4]))
    assert main(['ccil', 'augment', str(bad), '--output', str(tmp_path / 'a')]) == 2
    assert "unknown robot 'robo_dog'" in capsys.readouterr().err
    assert main(['ccil', 'train', str(bad), '--method', 'ccil', '--output',
                 str(tmp_path / 'p')]) == 2
    assert "unknown robot 'robo_dog'" in capsys.readouterr().err


def test_config_overrides_are_positional_key_value_arguments(tmp_path, capsys):
    demos_path = tmp_path / 'demos.npz'
    assert main(['ccil', 'collect', '--task', 'arm_reach', '--trajectories', '1',
                 '--output', str(demos_path)]) == 0
    # A typo in a key: a ConfigError naming it, before any training.
    assert main(['ccil', 'train', str(demos_path), 'bc.epoch=3', '--method', 'bc',
                 '--output', str(tmp_path / 'p')]) == 2
    error = capsys.readouterr().err
    assert 'robot-learning ccil: error' in error and 'bc.epoch' in error
    assert not (tmp_path / 'p').exists()
    assert main(['ccil', 'augment', str(demos_path), 'dynamics.epochs=3', 'filter.nope=1',
                 '--output', str(tmp_path / 'a')]) == 2
    assert 'filter.nope' in capsys.readouterr().err
    assert main(['ccil', 'train', 'bc.epochs=3', '--output', str(tmp_path / 'p')]) == 2
    assert 'no demonstrations' in capsys.readouterr().err
    # The former --set (config keys) and --report fail with what replaced them.
    for argv in (['train', str(demos_path), '--set', 'bc.epochs=3', '--output', 'p'],
                 ['evaluate', '--expert', '--task', 'arm_reach', '--report', 'r.json']):
        with pytest.raises(SystemExit) as exit_info:
            main(['ccil', *argv])
        assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert '--set was replaced: config overrides are positional key.sub=value' in err
    assert '--report was replaced: --output DIR writes DIR/report.json' in err
