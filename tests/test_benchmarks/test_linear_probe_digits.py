"""The digits linear probe, end to end: a DisCo student checkpoint in,
tools/train.py fits a linear head on the frozen student, tools/test.py
reports its accuracy."""
import os.path as osp
import re
import sys

import torch

LINEAR_DIGITS_CONFIG = ('configs/benchmarks/linear/'
                        'resnet18-w16_1xb256-linear-disco-lr3-halving-100e'
                        '_digits.py')


def test_digits_linear_probe_trains_and_tests(tmp_path, digits_run, run_tool):
    work_dir = str(tmp_path / 'linear')
    student = digits_run['checkpoint']
    # One epoch of 2 iterations on 16 digits, checkpoint after it.
    run_tool([
        sys.executable, 'tools/train.py', LINEAR_DIGITS_CONFIG, '--work-dir',
        work_dir, '--cfg-options',
        f'model.backbone.init_cfg.checkpoint={student}',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=8',
        'train_dataloader.dataset.indices=16', 'train_cfg.val_interval=100',
        'default_hooks.checkpoint.interval=1'
    ])
    probe = osp.join(work_dir, 'epoch_1.pth')
    trained = torch.load(probe, map_location='cpu')['state_dict']
    distilled = torch.load(student, map_location='cpu')['state_dict']

    # The student was loaded with prefix='backbone.' and stayed frozen:
    # every backbone tensor, BatchNorm statistics included, is the DisCo
    # student's; only the head was trained.
    backbone = {k: v for k, v in trained.items() if k.startswith('backbone.')}
    assert set(backbone) == {k for k in distilled if k.startswith('backbone.')}
    for key, value in backbone.items():
        assert torch.equal(value, distilled[key]), key
    assert set(trained) - set(backbone) == {'head.fc.weight', 'head.fc.bias'}

    log = run_tool([
        sys.executable, 'tools/test.py', LINEAR_DIGITS_CONFIG, probe,
        '--work-dir', str(tmp_path / 'test')
    ])
    top1 = re.search(r'accuracy/top1: ([\d.]+)', log)
    assert top1, log[-3000:]
    assert 0.0 <= float(top1.group(1)) <= 100.0
    # The whole held-out split (450 digits) was evaluated.
    assert 'Epoch(test) [2/2]' in log
