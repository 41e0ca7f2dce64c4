"""tools/analysis_tools/compare_methods.py end to end on a tiny budget.

The run trains the digits teacher once and BINGO, DisCo-on-BYOL and
DisCo-on-SimSiam from it (16 images, batch 8: 2 iterations each), which
is also the 2-iteration digits training of each of those configs; a second
run with ``--resume`` evaluates the same trainings without training again.
"""
import importlib.util
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from disco_mm import precision
from disco_mm.apis import method_comparison

METHODS = ['bingo', 'disco-byol', 'disco-simsiam']


def table_rows(text):
    return [[cell.strip() for cell in line.strip('|').split('|')]
            for line in text.splitlines()
            if line.startswith('|') and not line.startswith('|---')]


def tiny_comparison(work_dir, *flags):
    """The command line of a comparison of 2 iterations per training."""
    return [
        sys.executable, 'tools/analysis_tools/compare_methods.py',
        '--work-dir',
        str(work_dir), '--configs', 'bingo/*_digits.py',
        'distilled_ssl/disco-byol_*_digits.py',
        'distilled_ssl/disco-simsiam_*_digits.py', 'seed/no_such_digits.py',
        '--epochs', '1', '--teacher-epochs', '1', '--train-images', '16',
        '--quick-eval', *flags, '--cfg-options',
        'train_dataloader.batch_size=8', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ]


def test_tiny_comparison_writes_one_table(tmp_path, run_tool):
    work_dir = tmp_path / 'compare'
    output = run_tool(tiny_comparison(work_dir))
    assert ('error: config seed/no_such_digits.py does not exist' in output)
    # The console: phases and progress; the Runner's output is in files.
    assert 'model = dict(' not in output and 'Logging error' not in output
    assert 'Extracting teacher features (16 images, 1 batches)' in output
    assert 'Finding the 5 nearest neighbours of 16 images' in output
    assert '[compare_methods] seed 0: evaluating 3 students' in output
    # the teacher's load, logged after its training
    teacher = work_dir / 'teacher' / 'epoch_1.pth'
    assert f"Teacher checkpoint {teacher}: format 'mmpretrain'" in output
    report = (work_dir / 'results.md').read_text()
    header, *rows = table_rows(report)
    assert header == [
        'method', 'student', 'linear top-1 (%)', 'kNN top-1 (%)',
        'teacher-student cosine', 'train time / epoch (s)'
    ]
    assert [row[0] for row in rows] == METHODS
    assert table_rows(output)[1:] == rows
    # one seed: no std, so no method is ranked above another
    assert 'One seed: no std, so the table ranks no method' in report
    assert 'One seed: no std, so the table ranks no method' in output
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

    # --resume in the same work dir trains nothing again: every finished
    # training is loaded from its checkpoint and evaluated as before.
    checkpoints = sorted(work_dir.glob('*/**/epoch_1.pth'))
    written = [path.stat().st_mtime_ns for path in checkpoints]
    output = run_tool(tiny_comparison(work_dir, '--resume'))
    assert '[digits_demo] seed 0: resuming bingo for 1 epochs' in output
    assert [path.stat().st_mtime_ns for path in checkpoints] == written
    resumed = table_rows((work_dir / 'results.md').read_text())[1:]
    assert [row[:5] for row in resumed] == [row[:5] for row in rows]
    assert [row[5] for row in resumed] == ['n/a'] * len(METHODS)


VIT_TEACHER = 'mocov3/mocov3_vit-w192-d6-p4_1xb64-adamw-coslr-100e_digits.py'


def test_teacher_config_trains_and_evaluates_that_teacher(tmp_path, run_tool):
    """A MoCo-v3 ViT teacher trained and evaluated by --teacher-config, the
    ResNet student of its DisCo config distilled from it, and the ViT
    student's MoCo-v3 baseline beside it."""
    work_dir = tmp_path / 'compare'
    output = run_tool([
        sys.executable, 'tools/analysis_tools/compare_methods.py',
        '--work-dir',
        str(work_dir), '--teacher-config', VIT_TEACHER, '--configs',
        'disco/*_mocov3-vit-*_digits.py', 'mocov3/*w96*_digits.py',
        '--epochs', '1',
        '--teacher-epochs', '1', '--train-images', '16', '--quick-eval',
        '--cfg-options', 'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False'
    ])
    assert ('seed 0: training teacher '
            'mocov3_vit-w192-d6-p4_1xb64-adamw-coslr-100e_digits' in output)
    teacher = work_dir / 'teacher' / 'epoch_1.pth'
    assert f"Teacher checkpoint {teacher}: format 'mmpretrain'" in output
    results = json.loads((work_dir / 'results.json').read_text())
    assert results['teacher_config'].endswith(VIT_TEACHER)
    method = results['methods']['disco']
    assert method['student'] == 'ResNet-18 (0.70M)'
    # the cosine to the ViT teacher's 128-d embedding
    assert -1 <= method['teacher_cosine']['mean'] <= 1
    baseline = results['methods']['mocov3']
    assert baseline['student'] == 'VisionTransformer (0.68M)'
    assert 0 <= baseline['knn_top1']['mean'] <= 100


def test_teacher_config_must_name_one_config(tmp_path, tool):
    with pytest.raises(SystemExit, match='--teacher-config mocov3/nothing.py'
                       ' names 0 configs'):
        tool.main([
            '--work-dir',
            str(tmp_path), '--teacher-config', 'mocov3/nothing.py'
        ])


@pytest.fixture(scope='module')
def tool(repo_root):
    """The tool's command line imported as a module."""
    spec = importlib.util.spec_from_file_location(
        'compare_methods',
        osp.join(repo_root, 'tools', 'analysis_tools', 'compare_methods.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_methods_sharing_a_first_field_keep_their_whole_names():
    names = method_comparison.method_names([
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


def summary_of(linear_top1_per_method, knn_top1=80.0):
    """A comparison summary of hand-made linear top-1 values per seed."""
    return method_comparison.summarise({
        name: [
            dict(
                linear_top1=value,
                knn_top1=knn_top1 + seed,
                teacher_cosine=0.5,
                seconds_per_epoch=2.0,
                student='ResNet-18 (0.70M)',
                config=f'{name}.py') for seed, value in enumerate(values)
        ]
        for name, values in linear_top1_per_method.items()
    })


def test_table_gives_mean_and_std_of_every_metric_over_seeds():
    summary = summary_of({'disco': [90.0, 92.0, 94.0], 'seed': [70.0] * 3})
    header, *rows = table_rows(
        method_comparison.format_comparison_table(summary))
    assert header[2:] == [
        'linear top-1 (%)', 'kNN top-1 (%)', 'teacher-student cosine',
        'train time / epoch (s)'
    ]
    # knn 80, 81, 82: mean 81, sample std 1
    assert rows == [
        [
            'disco', 'ResNet-18 (0.70M)', '92.00 +- 2.00', '81.00 +- 1.00',
            '0.500 +- 0.000', '2.0 +- 0.0'
        ],
        [
            'seed', 'ResNet-18 (0.70M)', '70.00 +- 0.00', '81.00 +- 1.00',
            '0.500 +- 0.000', '2.0 +- 0.0'
        ],
    ]


def test_methods_within_one_std_are_not_ranked():
    # linear top-1: a 92 +- 2, b 90.5 +- 0.5 (|1.5| <= 2: not ranked),
    # c 88 +- 1 (4 from a, 2.5 from b: ranked below both)
    summary = summary_of({
        'a': [90.0, 92.0, 94.0],
        'b': [90.0, 90.5, 91.0],
        'c': [87.0, 88.0, 89.0]
    })
    assert method_comparison.unranked_pairs(summary,
                                            'linear_top1') == [('a', 'b')]
    # the same kNN values for all: every pair within one std
    assert method_comparison.ranking_notes(summary) == [
        'Not ranked on linear top-1 (%), within one std of each other: '
        'a and b.',
        'Not ranked on kNN top-1 (%), within one std of each other: a and b; '
        'a and c; b and c.'
    ]


def test_methods_further_apart_than_one_std_are_ranked():
    summary = summary_of({'a': [90.0, 92.0], 'b': [80.0, 81.0]},
                         knn_top1=0.0)
    summary['b']['knn_top1'] = dict(values=[50.0, 50.0], mean=50.0, std=0.0)
    assert method_comparison.ranking_notes(summary) == [
        'On linear top-1 (%), every two methods differ by more than one '
        'std.',
        'On kNN top-1 (%), every two methods differ by more than one std.'
    ]


def test_one_seed_ranks_no_method():
    summary = summary_of({'a': [90.0], 'b': [80.0]})
    assert table_rows(method_comparison.format_comparison_table(summary)
                      )[1][2] == '90.00'
    assert method_comparison.ranking_notes(summary) == [
        'One seed: no std, so the table ranks no method above another (3 or '
        'more seeds with --seeds for a comparison).'
    ]


def test_cosine_of_a_student_of_another_width_is_not_applicable():
    # CompRess-2q's raw student feature is narrower than the teacher's.
    summary = summary_of({'compress-2q': [90.0, 92.0]})
    for run in summary['compress-2q']['teacher_cosine']['values']:
        assert run == 0.5
    runs = [
        dict(
            linear_top1=90.0 + seed,
            knn_top1=80.0,
            teacher_cosine=None,
            seconds_per_epoch=2.0,
            student='ResNet-18 (0.70M)',
            config='compress-2q.py') for seed in range(2)
    ]
    summary = method_comparison.summarise({'compress-2q': runs})
    assert summary['compress-2q']['teacher_cosine']['mean'] is None
    _, row = table_rows(method_comparison.format_comparison_table(summary))
    assert row[2:] == ['90.50 +- 0.71', '80.00 +- 0.00', 'n/a', '2.0 +- 0.0']


@pytest.mark.machine_precision
def test_teacher_is_evaluated_in_float32_where_auto_is_bf16(
        digits_teacher, monkeypatch):
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    teacher = method_comparison.teacher_for_evaluation(digits_teacher[0])
    assert {param.dtype for param in teacher.parameters()} == {torch.float32}
