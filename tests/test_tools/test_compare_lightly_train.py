"""compare_lightly_train.py, its digits accuracy half and the step measures
they share."""
import importlib.util
import json
import sys

import pytest
import torch
from mmpretrain.registry import MODELS
from PIL import Image

from disco_mm.datasets import Digits


def test_step_meter_counts_the_first_warmup_step_by_hand(load_analysis_tool):
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
    meter = load_analysis_tool('step_measures').StepMeter(warmup=0,
                                                          device='cpu')
    meter.start()
    torch.mm(torch.ones(2, 2), torch.ones(2, 2))
    meter.stop()
    assert 'gflop' not in meter.row()


def test_step_meter_says_when_no_step_was_timed(load_analysis_tool):
    meter = load_analysis_tool('step_measures').StepMeter(warmup=2,
                                                          device='cpu')
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
        '--make-data', '4', '--batch-size', '2', '--img-size', '28', '--steps',
        '1', '--warmup', '1', '--threads', '1', '--matmul-size', '64',
        '--work-dir',
        str(work_dir), '--out',
        str(out)
    ],
                   timeout=1200)
    report = json.loads(out.read_text())
    rows = report['rows']
    assert set(rows) == {'disco_mm global+local', 'disco_mm DisCo'}
    for name, row in rows.items():
        assert row['gflop'] > 0
        assert len(row['times']) == 1
        assert row['gflop_per_s'] == pytest.approx(row['gflop'] /
                                                   row['median_s'],
                                                   rel=0.02)
        assert row['images_per_s'] == pytest.approx(2 / row['median_s'],
                                                    rel=0.02)
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


@pytest.mark.parametrize('width', [16, 32])
def test_lightly_side_resnets_are_the_digits_configs_resnets(
        load_analysis_tool, width):
    """The student and teacher LightlyTrain trains on digits are mmpretrain's
    ResNet-18 of the digits configs: the same names, shapes and outputs."""
    side = load_analysis_tool('lightly_train_digits')
    reference = MODELS.build(
        dict(type='ResNet',
             depth=18,
             stem_channels=width,
             base_channels=width,
             norm_cfg=dict(type='BN'),
             zero_init_residual=False))
    state = reference.state_dict()
    for name, tensor in state.items():
        if tensor.is_floating_point():  # running variances stay positive
            tensor.copy_(torch.rand_like(tensor) + 0.5)
    reference.load_state_dict(state)
    network = side.NarrowResNet18(width)
    network.load_state_dict(state)  # strict: every name and shape
    images = torch.randn(2, 3, 32, 32)
    network.eval()
    reference.eval()
    torch.testing.assert_close(network(images), reference(images)[-1])


@pytest.mark.slow
def test_digits_comparison_evaluates_each_seeds_student(
        tmp_path, run_tool, load_analysis_tool, digits_teacher):
    side = load_analysis_tool('lightly_train_digits')
    work_dir = tmp_path / 'work'
    (work_dir / 'seed_0').mkdir(parents=True)
    # what LightlyTrain's run of seed 0 writes
    torch.save(
        side.NarrowResNet18(16).state_dict(),
        work_dir / 'seed_0' / 'student_backbone.pth')
    command = [
        sys.executable, 'tools/analysis_tools/compare_lightly_train_digits.py',
        '--teacher', digits_teacher[0], '--quick-eval', '--work-dir',
        str(work_dir), '--seeds'
    ]
    log = run_tool(command + ['0'])
    assert 'student_backbone.pth exists: evaluated, not trained again' in log
    results = json.loads((work_dir / 'results.json').read_text())
    assert set(results['summary']) == {'teacher', 'LightlyTrain distillation'}
    for row in results['summary'].values():
        assert 0 < row['linear_top1']['mean'] <= 100
        assert 0 < row['knn_top1']['mean'] <= 100
    assert '| LightlyTrain distillation |' in log
    # LightlyTrain's teacher: the teacher's backbone under torchvision's
    # names, which the LightlyTrain side's ResNet loads strictly
    teacher = torch.load(work_dir / 'teacher_backbone.pth', weights_only=True)
    side.NarrowResNet18(32).load_state_dict(teacher)
    for name, tensor in teacher.items():
        torch.testing.assert_close(tensor,
                                   digits_teacher[1][f'backbone.{name}'])
    images = list((work_dir / 'images').iterdir())
    assert len(images) == len(Digits(split='train'))
    assert Image.open(images[0]).size == (32, 32)
    # a cut student file is named, with what to do
    (work_dir / 'seed_2').mkdir()
    (work_dir / 'seed_2' / 'student_backbone.pth').write_bytes(b'cut')
    log = run_tool(command + ['2'], returncode=1)
    assert 'seed_2/student_backbone.pth cannot be read (' in log
    assert 'delete it and run the same command again' in log
    # a seed without a student needs LightlyTrain, which is not installed
    log = run_tool(command + ['1'], returncode=1)
    assert 'seed_1/student_backbone.pth does not exist' in log
    assert f'lightly-train is not installed for {sys.executable}' in log
