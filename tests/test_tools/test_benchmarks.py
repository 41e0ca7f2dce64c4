"""The benchmark scripts report what they measured, consistently."""
import json
import sys

import pytest

DIGITS = ('configs/disco/'
          'disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py')
IN1K = 'configs/disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'


def test_train_benchmark_reports_step_and_floor(tmp_path, run_tool):
    out = tmp_path / 'benchmark.json'
    log = run_tool([
        sys.executable, 'tools/analysis_tools/benchmark_train.py', DIGITS,
        '--batch-size', '4', '--img-size', '16', '--steps', '2', '--warmup',
        '1', '--threads', '1', '--out',
        str(out)
    ])
    report = json.loads(out.read_text())
    rows = report['rows']
    assert set(rows) == {'step', 'mocov2', 'student_pass', 'teacher', 'floor'}
    parts = sum(rows[name]['median_s']
                for name in ('mocov2', 'student_pass', 'teacher'))
    assert rows['floor']['median_s'] == pytest.approx(parts, abs=2e-4)
    for name in ('step', 'mocov2', 'student_pass', 'teacher'):
        row = rows[name]
        assert len(row['times']) == 2
        assert row['images_per_s'] == pytest.approx(
            4 / row['median_s'], rel=1e-2)
        assert row['peak_mib'] >= row['memory_start_mib'] > 0
    ratio = rows['step']['median_s'] / rows['floor']['median_s']
    assert f'step / floor = {ratio:.3f}' in log
    assert report['settings']['batch_size'] == 4
    # a progress bar per row: 1 warm-up + 2 timed steps, with the ETA
    for name in ('step', 'mocov2', 'student_pass', 'teacher'):
        assert f'{name}: 1 warm-up and 2 timed steps' in log
    assert log.count('] 3/3, ') == 4 and 'ETA:' in log


def test_data_benchmark_times_config_and_torchvision(tmp_path, run_tool):
    out = tmp_path / 'data.json'
    log = run_tool([
        sys.executable, 'tools/analysis_tools/benchmark_data.py', IN1K,
        '--images', '3', '--rounds', '1', '--image-size', '64', '48',
        '--out',
        str(out)
    ])
    speeds = json.loads(out.read_text())['images_per_s']
    assert set(speeds) == {'config', 'torchvision'}
    assert all(speed > 0 for speed in speeds.values())
    assert 'config / torchvision =' in log
    for name in ('config', 'torchvision'):
        assert f'{name}: 1 timed rounds of 3 images' in log
    assert log.count('] 1/1, ') == 2 and 'ETA:' in log
