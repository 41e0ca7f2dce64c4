"""configs/benchmarks/: every evaluation config parses, names its student and
protocol right, and (classification) builds a frozen student with a head of
the right width and classes.

Detection configs need mmdet (not installed here): they are parsed, and
their channel widths are checked against mmpretrain's ResNet, which has
mmdet's layout.
"""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

BENCHMARKS = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', 'benchmarks')
CONFIGS = sorted(
    osp.relpath(path, BENCHMARKS)
    for path in glob.glob(osp.join(BENCHMARKS, '**', '*.py'), recursive=True)
    if '_base_' not in osp.relpath(path, BENCHMARKS).split(osp.sep))
DETECTION = [name for name in CONFIGS if name.startswith('detection/')]
CLASSIFICATION = [name for name in CONFIGS if name not in DETECTION]

# The students of docs/method.md section 3: (backbone type, timm name or
# ResNet depth, feature width).
STUDENTS = {
    'resnet18': ('ResNet', 18, 512),
    'resnet34': ('ResNet', 34, 512),
    'efficientnet-b0': ('TimmPooledBackbone', 'efficientnet_b0', 1280),
    'efficientnet-b1': ('TimmPooledBackbone', 'efficientnet_b1', 1280),
    'mobilenetv3-large':
    ('TimmPooledBackbone', 'mobilenetv3_large_100', 1280),
}
# The transformer students (linear probe only): (backbone type, timm name,
# feature width) and the DisCo run each is read from.
TRANSFORMER_STUDENTS = {
    'vit-tiny-p16': ('TimmPooledBackbone', 'vit_tiny_patch16_224', 192),
    'xcit-tiny-12-p16': ('TimmPooledBackbone', 'xcit_tiny_12_p16_224', 192),
}
TRANSFORMER_RUNS = {
    'vit-tiny-p16': 'disco_vit-tiny-p16_dino-vit-small-p16',
    'xcit-tiny-12-p16': 'disco_xcit-tiny-12-p16_dino-xcit-small-12-p16',
}
CLASSES = {'in1k': 1000, 'cifar10-224px': 10, 'cifar100-224px': 100,
           'digits': 10}
# Each protocol: the file name's part, learning rate, lr milestones and
# factor (None: constant), epochs (docs/method.md section 4).
DISCO_HALVINGS = [5, 10, 15, 20, 25, 30, 35, 40, 45, 60, 80]
PROTOCOLS = {
    'linear-steplr-100e': (30.0, [60, 80], 0.1, 100),
    'linear-disco-lr3-halving-100e': (3.0, DISCO_HALVINGS, 0.5, 100),
    'semi-1pct-linear-lr30-halving-100e': (30.0, [60, 80], 0.5, 100),
    'semi-10pct-linear-lr30-halving-100e': (30.0, [60, 80], 0.5, 100),
    'linear-lr3-200e': (3.0, None, None, 200),
    # mmpretrain's MoCo-v3 ViT probe: cosine decay
    'linear-coslr-90e': (12.0, 'cosine', None, 90),
}


def load(name):
    """Reads ``configs/benchmarks/<name>``."""
    return Config.fromfile(osp.join(BENCHMARKS, name))


def parts(name):
    """Student, protocol and data set of a classification config's name."""
    student, schedule, data = osp.basename(name)[:-3].split('_')
    protocol = schedule.split('-', 1)[1]  # without '8xb32'
    return student, protocol, data


@pytest.fixture(scope='module')
def backbone_of():
    """Builds each distinct backbone once (without loading weights)."""
    built = {}

    def build(cfg):
        cfg = dict(cfg.to_dict(), init_cfg=None)
        key = repr(sorted(cfg.items()))
        if key not in built:
            built[key] = MODELS.build(cfg)
        return built[key]

    return build


def test_every_student_has_every_protocol():
    expected = {
        f'{folder}/{student}_8xb32-{protocol}_{data}.py'
        for student in STUDENTS for folder, protocol, data in [
            ('linear', 'linear-steplr-100e', 'in1k'),
            ('linear', 'linear-disco-lr3-halving-100e', 'in1k'),
            ('semi', 'semi-1pct-linear-lr30-halving-100e', 'in1k'),
            ('semi', 'semi-10pct-linear-lr30-halving-100e', 'in1k'),
            ('transfer', 'linear-lr3-200e', 'cifar10-224px'),
            ('transfer', 'linear-lr3-200e', 'cifar100-224px'),
        ]
    }
    assert expected <= set(CLASSIFICATION)
    assert {f'detection/faster-rcnn_{student}-c4_8xb2-{schedule}.py'
            for student in ('resnet18', 'resnet34')
            for schedule in ('24k_voc0712', '1x_coco')} == set(DETECTION)


@pytest.mark.parametrize('name', CLASSIFICATION)
def test_classification_config(name, backbone_of):
    cfg = load(name)
    student, protocol, data = parts(name)
    assert cfg.default_scope == 'mmpretrain'
    assert 'disco_mm' in cfg.custom_imports.imports

    # the student's DisCo checkpoint, read with prefix='backbone.'
    backbone = cfg.model.backbone
    init = backbone.init_cfg
    assert (init.type, init.prefix) == ('Pretrained', 'backbone.')
    digits = data == 'digits'
    pretraining = TRANSFORMER_RUNS.get(student, f'disco_{student}_mocov2-r50')
    run = ('disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits/'
           'epoch_60.pth' if digits else
           f'{pretraining}_8xb32-coslr-200e_in1k/epoch_200.pth')
    assert init.checkpoint == f'work_dirs/{run}'

    students = {**STUDENTS, **TRANSFORMER_STUDENTS}
    kind, arch, width = students['resnet18' if digits else student]
    assert backbone.type == kind
    if kind == 'ResNet':
        assert backbone.depth == arch
        assert (backbone.frozen_stages, backbone.norm_eval) == (4, True)
    else:
        assert (backbone.model_name, backbone.frozen) == (arch, True)
    if digits:
        width = 128  # quarter width
    classes = CLASSES[data]
    assert cfg.data_preprocessor.num_classes == classes

    # the protocol's optimiser and schedule
    lr, milestones, gamma, epochs = PROTOCOLS[protocol]
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', lr, 0.9, 0.0)
    if milestones is None:
        assert cfg.param_scheduler == []
    elif milestones == 'cosine':
        scheduler, = cfg.param_scheduler
        assert (scheduler.type, scheduler.T_max) == ('CosineAnnealingLR',
                                                     epochs)
    else:
        scheduler, = cfg.param_scheduler
        assert (scheduler.type, scheduler.milestones,
                scheduler.gamma) == ('MultiStepLR', milestones, gamma)
    assert cfg.train_cfg.max_epochs == epochs
    if not digits:
        # x 8 processes: 256 (1024 for the transformers' probe)
        assert cfg.train_dataloader.batch_size == (
            128 if student in TRANSFORMER_STUDENTS else 32)
    if protocol.startswith('semi'):
        percent = protocol.split('-')[1][:-3]
        assert cfg.train_dataloader.dataset.ann_file == (
            f'meta/train_{percent}percent.txt')
        assert cfg.val_dataloader.dataset.split == 'val'

    # frozen student + linear head: logits of the data set's classes
    model = MODELS.build(
        dict(cfg.model.to_dict(), backbone=backbone_of(backbone)))
    model.train()
    assert not [n for n, p in model.backbone.named_parameters()
                if p.requires_grad]
    assert not [n for n, m in model.backbone.named_modules()
                if isinstance(m, torch.nn.BatchNorm2d) and m.training]
    with torch.no_grad():
        # a ViT takes the input size it was built for
        size = 224 if student in TRANSFORMER_STUDENTS else 32
        features = model.extract_feat(torch.randn(2, 3, size, size))
        logits = model.head(features)
    assert features[-1].shape == (2, width)
    assert logits.shape == (2, classes)


def test_cifar_images_are_upsampled_to_224():
    cfg = load('transfer/resnet18_8xb32-linear-lr3-200e_cifar100-224px.py')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert (dataset.type, dataset.data_root) == ('CIFAR100',
                                                     'data/cifar100')
        assert dataset.download is False
        sizes = [step.scale for step in dataset.pipeline if 'scale' in step]
        assert sizes == [224]


@pytest.mark.parametrize('name', DETECTION)
def test_detection_config(name):
    cfg = load(name)
    student = osp.basename(name).split('_')[1].split('-')[0]
    depth = STUDENTS[student][1]
    assert cfg.default_scope == 'mmdet'
    model = cfg.model
    assert model.type == 'FasterRCNN'
    roi = model.roi_head
    converted = f'checkpoints/disco_{student}_mmdet.pth'
    for part in (model.backbone, roi.shared_head):
        assert part.depth == depth
        assert part.init_cfg == dict(type='Pretrained', checkpoint=converted)
        assert (part.norm_cfg.type, part.norm_eval) == ('SyncBN', False)
    assert roi.bbox_head.num_classes == (20 if 'voc' in name else 80)

    # widths from mmpretrain's ResNet, which has mmdet's layout: the
    # 3-stage backbone feeds the RPN and RoI extractor, layer4 the box head
    backbone_args = {
        key: model.backbone[key]
        for key in ('depth', 'num_stages', 'strides', 'dilations',
                    'out_indices', 'style')
    }
    c4 = MODELS.build(dict(type='ResNet', **backbone_args))
    with torch.no_grad():
        c4_feature, = c4(torch.randn(1, 3, 64, 64))
    assert c4_feature.shape[-1] == 4  # stride 16
    width = c4_feature.shape[1]
    assert model.rpn_head.in_channels == width
    assert roi.bbox_roi_extractor.out_channels == width
    resnet = MODELS.build(dict(type='ResNet', depth=depth))
    assert roi.bbox_head.in_channels == resnet.layer4[-1].out_channels
