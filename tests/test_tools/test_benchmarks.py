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
        '1', '--threads', '1', '--matmul-size', '256', '--out',
        str(out)
    ])
    report = json.loads(out.read_text())
    rows = report['rows']
    assert set(rows) == {'step', 'mocov2', 'student_pass', 'teacher', 'floor'}
    # DisCo: the MoCo-v2 step, the second view's student pass, the teacher
    # on both views
    assert rows['floor']['passes'] == dict(
        mocov2=1, student_pass=1, teacher=2)
    parts = (rows['mocov2']['median_s'] + rows['student_pass']['median_s'] +
             2 * rows['teacher']['median_s'])
    assert rows['floor']['median_s'] == pytest.approx(parts, abs=3e-4)
    for name in ('step', 'mocov2', 'student_pass', 'teacher'):
        row = rows[name]
        assert len(row['times']) == 2
        assert row['images_per_s'] == pytest.approx(
            4 / row['median_s'], rel=1e-2)
        assert row['peak_mib'] >= row['memory_start_mib'] > 0
    ratio = rows['step']['median_s'] / rows['floor']['median_s']
    assert f'step / floor = {ratio:.3f}' in log
    # the step computes what its floor's passes compute, and a little more
    # (the distillation and contrastive losses)
    assert rows['step']['gflop'] == pytest.approx(rows['floor']['gflop'],
                                                  rel=0.02)
    reference = report['settings']['matmul_gflop_per_s']
    for row in rows.values():
        assert row['gflop_per_s'] == pytest.approx(
            row['gflop'] / row['median_s'], rel=0.02)
        assert row['of_matmul'] == pytest.approx(
            row['gflop_per_s'] / reference, rel=0.02)
    assert f'float32 matmul of 256^2: {reference:.1f} GFLOP/s' in log
    assert report['settings']['batch_size'] == 4
    # a progress bar per row: 1 warm-up + 2 timed steps, with the ETA
    for name in ('step', 'mocov2', 'student_pass', 'teacher'):
        assert f'{name}: 1 warm-up and 2 timed steps' in log
    assert log.count('] 3/3, ') == 4 and 'ETA:' in log
    assert 'floor = 1 x student_pass + 2 x teacher + 1 x mocov2' in log


@pytest.mark.parametrize('config, passes', [
    ('configs/compress/compress-2q_resnet18-w16_mocov2-r18-w32_1xb64-'
     'coslr-60e_digits.py', dict(student_pass=1, teacher=1, key_encoder=1)),
    ('configs/bingo/bingo_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_'
     'digits.py', dict(student_pass=3, teacher=2)),
])
def test_train_benchmark_counts_each_methods_passes(tmp_path, run_tool,
                                                    config, passes):
    out = tmp_path / 'benchmark.json'
    run_tool([
        sys.executable, 'tools/analysis_tools/benchmark_train.py', config,
        '--batch-size', '4', '--img-size', '16', '--steps', '1', '--warmup',
        '0', '--threads', '1', '--matmul-size', '256', '--out',
        str(out)
    ])
    rows = json.loads(out.read_text())['rows']
    # without a warm-up step nothing counts the operations
    assert not any('gflop' in row for row in rows.values())
    assert set(rows) == {'step', 'floor', *passes}
    assert rows['floor']['passes'] == passes
    parts = sum(count * rows[name]['median_s']
                for name, count in passes.items())
    assert rows['floor']['median_s'] == pytest.approx(parts, abs=3e-4)


def test_data_benchmark_times_config_and_torchvision(tmp_path, run_tool):
    out = tmp_path / 'data.json'
    log = run_tool([
        sys.executable, 'tools/analysis_tools/benchmark_data.py', IN1K,
        '--images', '3', '--rounds', '1', '--image-size', '64', '48',
        '--out',
        str(out)
    ])
    report = json.loads(out.read_text())
    speeds, unavailable = report['images_per_s'], report['unavailable']
    # every backend is timed or said to be missing, with the reason
    assert set(speeds) | set(unavailable) == {
        'config/cv2', 'config/pillow', 'config/turbojpeg', 'torchvision'}
    assert {'config/cv2', 'config/pillow', 'torchvision'} <= set(speeds)
    assert all(speed > 0 for speed in speeds.values())
    for name, problem in unavailable.items():
        assert f'{name}' in log and problem.split(':')[0] in log
    assert 'config/cv2 / torchvision =' in log
    for name in speeds:
        assert f'{name}: 1 timed rounds of 3 images' in log
    assert log.count('] 1/1, ') == len(speeds) and 'ETA:' in log


def test_train_benchmark_splits_the_batch_over_processes(tmp_path, run_tool):
    out = tmp_path / 'benchmark.json'
    log = run_tool([
        sys.executable, 'tools/analysis_tools/benchmark_train.py', DIGITS,
        '--batch-size', '4', '--img-size', '16', '--steps', '2', '--warmup',
        '1', '--threads', '2', '--processes', '2', '--matmul-size', '256',
        '--out',
        str(out)
    ])
    report = json.loads(out.read_text())
    step = report['rows']['step']
    assert set(report['rows']) == {'step'}
    assert report['settings']['processes'] == 2
    assert len(step['times']) == 2 and len(step['losses']) == 2
    assert step['images_per_s'] == pytest.approx(
        4 / step['median_s'], rel=1e-2)
    assert len(step['peak_mib_per_process']) == 2
    assert step['peak_mib'] == sum(step['peak_mib_per_process'])
    assert step['gflop'] > 0
    # rank 0 alone shows its progress
    assert log.count('step: 1 warm-up and 2 timed steps') == 1


def test_conv_benchmark_times_every_student_geometry(tmp_path, run_tool):
    out = tmp_path / 'convs.json'
    log = run_tool([
        sys.executable, 'tools/analysis_tools/benchmark_convs.py', DIGITS,
        '--batch-size', '4', '--img-size', '32', '--repeats', '1',
        '--threads', '1', '--out',
        str(out)
    ])
    layers = json.loads(out.read_text())['layers']
    # the digits ResNet-18 w16: 20 convolutions, 11 distinct geometries
    assert sum(layer['count'] for layer in layers) == 20
    assert len(layers) == 11
    for layer in layers:
        assert layer['takes_product'] == (layer['output_pixels'] <= 49)
        assert min(layer['forward_ms'], layer['onednn_weight_grad_ms']) > 0
        # the product is timed up to 4 x 49 output pixels
        assert (layer['product_weight_grad_ms'] is None) == (
            layer['output_pixels'] > 196)
        assert (layer['product_weight_grad_ms'] or 1) > 0
    saved = sum(
        layer['count'] *
        (layer['onednn_weight_grad_ms'] - layer['product_weight_grad_ms'])
        for layer in layers if layer['takes_product'])
    assert f'saved per student pass by the product: {saved:.1f} ms' in log
