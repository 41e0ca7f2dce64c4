"""tools/digits_demo.py: the quick run end to end, its table and pictures."""
import glob
import json
import os.path as osp
import re
import sys

import pytest
from PIL import Image

from disco_mm.apis import digits_demo as demo
from disco_mm.evaluation.pictures import DPI, PANEL_SIZE

COLUMNS = ('model', 'params', 'linear top-1 (%)', 'kNN top-1 (%)',
           'teacher-student cosine')
MODELS = ('MoCo-v2 teacher', 'MoCo-v2 student', 'DisCo student',
          'untrained student')
TRAINED = ('teacher', 'mocov2_student', 'disco_student')


def table_rows(text: str) -> list:
    """The cells of every markdown table row in ``text``."""
    return [[cell.strip() for cell in line.strip('|').split('|')]
            for line in text.splitlines()
            if line.startswith('|') and not line.startswith('|---')]


def test_quick_demo_writes_the_table(tmp_path, run_tool):
    work_dir = tmp_path / 'demo'
    output = run_tool([
        sys.executable, 'tools/digits_demo.py', '--quick', '--work-dir',
        str(work_dir)
    ])
    report = (work_dir / 'results.md').read_text()
    header, *rows = table_rows(report)
    assert tuple(header) == COLUMNS
    assert [row[0].split(' (')[0] for row in rows] == list(MODELS)
    assert table_rows(output) == [header, *rows]
    assert '1 seed (0)' in report

    results = json.loads((work_dir / 'results.json').read_text())
    assert results['seeds'] == [0] and results['quick']
    assert set(results['wall_time_s']) == {
        *TRAINED, 'untrained_student', 'evaluation', 'pictures', 'total'
    }
    models = results['models']
    assert list(models) == [*TRAINED, 'untrained_student']
    assert models['teacher']['teacher_cosine']['mean'] == pytest.approx(1.0)
    assert models['mocov2_student']['params'] == models['disco_student'][
        'params'] == models['untrained_student']['params'] < models[
            'teacher']['params']
    for model in models.values():
        for metric in ('linear_top1', 'knn_top1'):
            assert 0 <= model[metric]['mean'] <= 100
    assert results['epochs']['untrained_student'] == 0
    for phase in TRAINED:
        assert osp.isfile(work_dir / 'seed_0' / phase / 'epoch_1.pth')

    # The students log their online kNN top-1 (quick: after epoch 1, on the
    # evaluation images); the teacher's config has no monitor.
    for phase, monitored in (('teacher', False), ('mocov2_student', True),
                             ('disco_student', True)):
        (scalars, ) = glob.glob(
            str(work_dir / 'seed_0' / phase / '*' / 'vis_data' /
                'scalars.json'))
        with open(scalars) as file:
            knn = [
                record for record in map(json.loads, file)
                if 'knn_top1' in record
            ]
        assert [record['epoch'] for record in knn] == ([1] if monitored else
                                                       [])
    # The console shows phases, progress bars and the table; what the
    # Runner prints (config dump, iteration logs, the monitor's kNN) is in
    # each phase's console.log.
    assert 'model = dict(' not in output and 'Epoch(train)' not in output
    finished_bars = [
        bar for bar in re.findall(
            r'\] (\d+)/(\d+), [\d.]+ task/s, elapsed: \d+s, ETA: +\d+s',
            output) if bar[0] == bar[1]
    ]
    # 128 images in batches of 64 per training; 4 models x 2 splits
    assert finished_bars == [('2', '2')] * 3 + [('8', '8')]
    for phase in TRAINED:
        with open(work_dir / 'seed_0' / phase / 'console.log') as log:
            runner_output = log.read()
        assert 'model = dict(' in runner_output
        assert 'Epoch(train) [1][2/2]' in runner_output
        assert runner_output.count('bank 200 images, queries 100 images') == (
            phase != 'teacher')

    # Both pictures next to the table, three panels wide.
    for picture in ('embeddings.png', 'training_curves.png'):
        with Image.open(work_dir / picture) as image:
            assert image.format == 'PNG'
            assert image.size == (3 * PANEL_SIZE[0] * DPI,
                                  PANEL_SIZE[1] * DPI)
    assert 'Pictures (seed 0): embeddings.png' in report


def test_table_gives_mean_and_std_over_seeds():
    per_seed = [{
        phase.name:
        dict(
            params=10,
            linear_top1=value,
            knn_top1=value - 1,
            teacher_cosine=0.5)
        for phase in demo.PHASES
    } for value in (90.0, 92.0, 94.0)]
    summary = demo.summarise(per_seed)
    linear = summary['disco_student']['linear_top1']
    assert linear['values'] == [90.0, 92.0, 94.0]
    assert linear['mean'] == pytest.approx(92.0)
    assert linear['std'] == pytest.approx(2.0)  # sample std
    rows = table_rows(demo.format_demo_table(summary))
    assert rows[1][1:] == [
        '10', '92.00 +- 2.00', '91.00 +- 2.00', '0.500 +- 0.000'
    ]


def test_one_seed_has_no_std():
    per_seed = [{
        phase.name:
        dict(params=1000, linear_top1=90.0, knn_top1=80.0, teacher_cosine=1.0)
        for phase in demo.PHASES
    }]
    summary = demo.summarise(per_seed)
    assert summary['teacher']['knn_top1']['std'] is None
    rows = table_rows(demo.format_demo_table(summary))
    assert rows[1][1:] == ['1,000', '90.00', '80.00', '1.000']
