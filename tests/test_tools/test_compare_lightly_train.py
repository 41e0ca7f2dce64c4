"""compare_lightly_train.py and the step measures it shares."""
import importlib.util
import json
import sys

import pytest
import torch
from PIL import Image


def test_step_meter_counts_the_first_warmup_step_by_hand(
        load_analysis_tool):
    step_measures = load_analysis_tool('step_measures')
    layer = torch.nn.Linear(4, 3, bias=False)
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    inputs = torch.randn(2, 4)
    meter = step_measures.StepMeter(warmup=1, device='cpu')
    for _ in range(3):
        meter.start()
        layer(inputs).sum().backward()
        optimizer.step()
        optimizer.zero_grad()
        meter.stop()
    row = meter.row()
    # forward: 2 x 4 by 4 x 3, 2 * 2*4*3 = 48; backward: the weight's
    # gradient only (the input needs none), 2 * 3*2*4 = 48; SGD: no products
    assert row['gflop'] == pytest.approx(96e-9)
    assert len(row['times']) == 2
    assert row['median_s'] == pytest.approx(sorted(row['times'])[0] / 2 +
                                            sorted(row['times'])[1] / 2,
                                            abs=1e-4)
    assert row['peak_mib'] >= row['memory_start_mib'] > 0


def test_step_meter_without_warmup_counts_nothing(load_analysis_tool):
    meter = load_analysis_tool('step_measures').StepMeter(
        warmup=0, device='cpu')
    meter.start()
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))
    meter.stop()
    assert 'gflop' not in meter.row()


def test_step_meter_says_when_no_step_was_timed(load_analysis_tool):
    meter = load_analysis_tool('step_measures').StepMeter(
        warmup=2, device='cpu')
    meter.start()
    meter.stop()
    with pytest.raises(RuntimeError, match='1 steps ran, 2 of them warm-up'):
        meter.row()


@pytest.mark.slow
def test_compare_reports_disco_mm_without_lightly_train(tmp_path, run_tool):
    # lightly-train (AGPL-3.0) must stay out of the project's environment
    assert importlib.util.find_spec('lightly_train') is None
    out = tmp_path / 'compare.json'
    work_dir = tmp_path / 'work'
    log = run_tool([
        sys.executable, 'tools/analysis_tools/compare_lightly_train.py',
        '--make-data', '4', '--batch-size', '2', '--img-size', '28',
        '--steps', '1', '--warmup', '1', '--threads', '1', '--matmul-size',
        '64', '--work-dir',
        str(work_dir), '--out',
        str(out)
    ], timeout=1200)
    report = json.loads(out.read_text())
    rows = report['rows']
    assert set(rows) == {'disco_mm global+local', 'disco_mm DisCo'}
    for name, row in rows.items():
        assert row['gflop'] > 0
        assert len(row['times']) == 1
        assert row['gflop_per_s'] == pytest.approx(
            row['gflop'] / row['median_s'], rel=0.02)
        assert row['images_per_s'] == pytest.approx(
            2 / row['median_s'], rel=0.02)
        assert row['peak_mib'] >= row['memory_start_mib'] > 0
        assert (f'| {name} | {row["median_s"]:.3f} | '
                f'{row["images_per_s"]:.2f} | {row["gflop"]} |') in log
    # DisCo makes two student passes and a key-encoder pass against the
    # global + local method's one student pass
    assert rows['disco_mm DisCo']['gflop'] > rows['disco_mm global+local'][
        'gflop']
    # the same four generated JPEG files for both
    images = sorted((work_dir / 'images').iterdir())
    assert len(images) == 4
    assert {Image.open(path).format for path in images} == {'JPEG'}
    reason = report['skipped']['LightlyTrain distillation']
    assert f'lightly-train is not installed for {sys.executable}' in reason
    assert ('pip install lightly-train==0.18.0 -c '
            'requirements/constraints.txt') in log
    assert '--lightly-python lt-venv/bin/python' in log
