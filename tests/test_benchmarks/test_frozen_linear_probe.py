"""A linear-probe train step changes the head and nothing of the student."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

LINEAR = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs',
    'benchmarks', 'linear')


def batch(size=4, side=32):
    """A data batch as mmpretrain's loaders give it: uint8 images, labels."""
    return dict(
        inputs=[
            torch.randint(0, 256, (3, side, side), dtype=torch.uint8)
            for _ in range(size)
        ],
        data_samples=[DataSample().set_gt_label(i) for i in range(size)])


@pytest.mark.parametrize('config', [
    'resnet18_8xb32-linear-steplr-100e_in1k.py',
    'efficientnet-b0_8xb32-linear-disco-lr3-halving-100e_in1k.py',
])
def test_train_step_changes_only_the_head(config):
    cfg = Config.fromfile(osp.join(LINEAR, config))
    cfg.model.backbone.init_cfg = None  # random student, no file
    model = MODELS.build(cfg.model)
    model.init_weights()
    # BatchNorm statistics that a training-mode forward would move
    for module in model.backbone.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 1.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)

    model.train()
    for _ in range(2):
        losses = model.train_step(batch(), optim_wrapper)
        assert torch.isfinite(losses['loss'])

    after = model.state_dict()
    changed = sorted(k for k in before if not torch.equal(before[k], after[k]))
    assert changed == ['head.fc.bias', 'head.fc.weight']
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert sorted(trainable) == ['head.fc.bias', 'head.fc.weight']
