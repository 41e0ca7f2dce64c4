"""tools/model_converters/to_mmdet.py: a DisCo ResNet student by the names
of mmdet's ResNet and of the ResLayer that holds layer4 in C4 detectors."""
import importlib.util
import os.path as osp

import pytest
import torch
from mmpretrain.registry import MODELS

from disco_mm.checkpoints import CheckpointFormatError

# Names of mmdet's ResNet-18 (mmdet/models/backbones/resnet.py), spelled
# out so that the test does not only compare mmpretrain with itself.
MMDET_RESNET18_NAMES = [
    'conv1.weight', 'bn1.weight', 'bn1.running_var',
    'bn1.num_batches_tracked', 'layer1.0.conv1.weight',
    'layer1.1.bn2.bias', 'layer2.0.downsample.0.weight',
    'layer2.0.downsample.1.running_mean', 'layer4.1.conv2.weight',
    'layer4.1.bn2.running_var'
]


@pytest.fixture(scope='module')
def to_mmdet(repo_root):
    """The converter's ``main``."""
    spec = importlib.util.spec_from_file_location(
        'to_mmdet',
        osp.join(repo_root, 'tools', 'model_converters', 'to_mmdet.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


def randomised(module):
    """The module's state dict with every float tensor random."""
    return {
        name: torch.randn_like(value) if value.is_floating_point() else value
        for name, value in module.state_dict().items()
    }


def test_resnet18_student_gets_mmdet_names_and_values(tmp_path, to_mmdet):
    # mmpretrain's ResNet has the layout of mmdet's.
    student = randomised(MODELS.build(dict(type='ResNet', depth=18)))
    training_checkpoint = {
        'meta': {'epoch': 200},
        'state_dict': {
            **{f'backbone.{k}': v for k, v in student.items()},
            'neck.mlp.0.weight': torch.randn(4, 512),
            'target.0.conv1.weight': torch.randn(64, 3, 7, 7),
            'queue': torch.randn(128, 8),
        }
    }
    src, dst = str(tmp_path / 'epoch_200.pth'), str(tmp_path / 'mmdet.pth')
    torch.save(training_checkpoint, src)
    to_mmdet([src, dst])

    converted = torch.load(dst, weights_only=True)
    assert converted['meta']['exported_to'] == 'mmdet'
    weights = converted['state_dict']
    assert sorted(weights) == sorted(student)
    assert set(MMDET_RESNET18_NAMES) <= set(weights)
    for name, value in student.items():
        assert torch.equal(weights[name], value), name

    # The C4 split: mmdet's 3-stage backbone takes conv1 to layer3, its
    # ResLayer shared head layer4.
    backbone = MODELS.build(
        dict(type='ResNet', depth=18, num_stages=3, strides=(1, 2, 2),
             dilations=(1, 1, 1), out_indices=(2, )))
    backbone.load_state_dict(
        {k: v for k, v in weights.items() if not k.startswith('layer4.')},
        strict=True)
    assert any(k.startswith('layer4.') for k in weights)


def test_refuses_a_timm_student(tmp_path, to_mmdet):
    backbone = MODELS.build(
        dict(type='TimmPooledBackbone', model_name='mobilenetv3_large_100'))
    src = str(tmp_path / 'epoch_200.pth')
    torch.save({'state_dict': {f'backbone.{k}': v for k, v in
                               backbone.state_dict().items()}}, src)
    with pytest.raises(
            CheckpointFormatError,
            match="not a ResNet of torchvision's layout, which mmdet needs"
            '.*conv_stem.weight.*--to timm'):
        to_mmdet([src, str(tmp_path / 'out.pth')])
