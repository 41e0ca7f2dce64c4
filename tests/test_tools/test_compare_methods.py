"""tools/analysis_tools/compare_methods.py end to end on a tiny budget.

The run trains the digits teacher once and BINGO, DisCo-on-BYOL and
DisCo-on-SimSiam from it (16 images, batch 8: 2 iterations each), which
is also the 2-iteration digits training of each of those configs.
"""
import importlib.util
import json
import os.path as osp
import sys

import numpy as np
import pytest

METHODS = ['bingo', 'disco-byol', 'disco-simsiam']


def table_rows(text):
    return [[cell.strip() for cell in line.strip('|').split('|')]
            for line in text.splitlines()
            if line.startswith('|') and not line.startswith('|---')]


def test_tiny_comparison_writes_one_table(tmp_path, run_tool):
    work_dir = tmp_path / 'compare'
    output = run_tool([
        sys.executable, 'tools/analysis_tools/compare_methods.py',
        '--work-dir', str(work_dir), '--configs', 'bingo/*_digits.py',
        'distilled_ssl/disco-byol_*_digits.py',
        'distilled_ssl/disco-simsiam_*_digits.py', 'seed/no_such_digits.py',
        '--epochs', '1', '--teacher-epochs', '1', '--train-images', '16',
        '--quick-eval', '--cfg-options', 'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ])
    assert ('error: config seed/no_such_digits.py does not exist' in output)
    # The console: phases and progress; the Runner's output is in files.
    assert 'model = dict(' not in output and 'Logging error' not in output
    assert 'Extracting teacher features (16 images, 1 batches)' in output
    assert 'Finding the 5 nearest neighbours of 16 images' in output
    assert '[compare_methods] seed 0: evaluating 3 students' in output
    # the teacher's load, logged after its training
    teacher = work_dir / 'teacher' / 'epoch_1.pth'
    assert f"Teacher checkpoint {teacher}: format 'mmpretrain'" in output
    header, *rows = table_rows((work_dir / 'results.md').read_text())
    assert header == [
        'method', 'student', 'linear top-1 (%)', 'kNN top-1 (%)',
        'teacher-student cosine', 'train time / epoch (s)'
    ]
    assert [row[0] for row in rows] == METHODS
    assert table_rows(output)[1:] == rows
    results = json.loads((work_dir / 'results.json').read_text())
    assert results['epochs'] == 1 and len(results['skipped']) == 1
    assert results['teacher'] == str(work_dir / 'teacher' / 'epoch_1.pth')
    for name in METHODS:
        method = results['methods'][name]
        assert method['student'] == 'ResNet-18 (0.70M)'
        assert 0 <= method['linear_top1']['mean'] <= 100
        assert -1 <= method['teacher_cosine']['mean'] <= 1
        assert method['seconds_per_epoch']['mean'] > 0
        assert osp.isfile(work_dir / name / 'seed_0' / 'epoch_1.pth')
    # The bags index the 16 training images, 5 neighbours each.
    bags = np.load(work_dir / 'bingo' / 'seed_0' / 'bags.npy')
    assert bags.shape == (16, 5) and bags.max() < 16
    assert not (bags == np.arange(16)[:, None]).any()


@pytest.fixture(scope='module')
def tool(repo_root):
    """The tool imported as a module."""
    spec = importlib.util.spec_from_file_location(
        'compare_methods',
        osp.join(repo_root, 'tools', 'analysis_tools', 'compare_methods.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_methods_sharing_a_first_field_keep_their_whole_names(tool):
    names = tool.method_names([
        'configs/disco/disco_a_digits.py', 'configs/x/comp_1q_digits.py',
        'configs/x/comp_2q_digits.py'
    ])
    assert list(names.values()) == [
        'disco', 'comp_1q_digits', 'comp_2q_digits'
    ]


def test_nothing_to_train_is_an_error(tmp_path, tool, capsys):
    with pytest.raises(SystemExit, match='no config to train'):
        tool.main([
            '--work-dir',
            str(tmp_path), '--configs', 'simreg/no_such_digits.py'
        ])
    assert ('error: config simreg/no_such_digits.py does not exist'
            in capsys.readouterr().err)
