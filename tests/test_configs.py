"""Every pretraining config builds its model, and a tiny batch gives finite
losses (configs/benchmarks/: tests/test_configs_benchmarks.py)."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS

from queues import shrink_queues

CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
CONFIGS = sorted(
    osp.relpath(path, CONFIG_ROOT)
    for path in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if not {'_base_', 'benchmarks'} & set(
        osp.relpath(path, CONFIG_ROOT).split(osp.sep)))


def fast_loop_configs(names):
    """The configs the fast loop (``-m "not slow"``) builds.

    Every digits config and the first ResNet-18 config of each folder; the
    other ImageNet configs differ from those in widths and teachers only,
    and the full suite builds them all.
    """
    fast, folders = set(), set()
    for name in names:
        folder = name.split(osp.sep)[0]
        if '_digits' in name:
            fast.add(name)
        elif 'resnet18_' in name and folder not in folders:
            fast.add(name)
            folders.add(folder)
    return fast


FAST_CONFIGS = fast_loop_configs(CONFIGS)
LOSSES = {
    'BINGO': {'loss_bag', 'loss_mix'},
    'DisCo': {'loss_contrastive', 'loss_distill'},
    'DistilledSelfSup': {'loss_student', 'loss_distill'},
    'GlobalLocalDistill': {'loss_global', 'loss_local'},
    'MoCoV2Student': {'loss_contrastive'},
    'MoCoV3': {'loss'},  # mmpretrain's, as it is
    'Proteus': {'loss_token', 'loss_feature', 'loss_patch'},
    'SEED': {'loss_distill'},
    'CompRess1q': {'loss_distill'},
    'CompRess2q': {'loss_distill'},
    'SimReg': {'loss_distill'},
}


def load(name):
    """Reads ``configs/<name>``."""
    return Config.fromfile(osp.join(CONFIG_ROOT, name))


@pytest.fixture(scope='module')
def teacher_checkpoint_for(module_tmp_path_factory, make_teacher_checkpoint):
    """Returns a function giving a random checkpoint for a teacher config.

    Checkpoints are written once per teacher architecture and session; with
    ``queue_length`` the file also holds mmpretrain MoCo's queue of that
    many keys (a column each).
    """
    root = module_tmp_path_factory.mktemp('config_teachers')
    written = {}

    def checkpoint(teacher, queue_length=None):
        neck = teacher.neck.to_dict() if teacher.neck else None
        arch = repr((teacher.backbone.to_dict(), neck, queue_length))
        if arch not in written:
            written[arch] = str(root / f'teacher_{len(written)}.pth')
            queue = None if queue_length is None else dict(
                queue=torch.randn(neck['out_channels'], queue_length),
                queue_ptr=torch.zeros(1, dtype=torch.long))
            make_teacher_checkpoint(
                written[arch],
                backbone=teacher.backbone.to_dict(),
                neck=neck,
                extra=queue)
        return written[arch]

    return checkpoint


def transformer_image_size(model: torch.nn.Module):
    """The image side a timm vision transformer of the model (student or
    teacher) was built for, or None without one."""
    for module in model.modules():
        image_size = getattr(getattr(module, 'patch_embed', None), 'img_size',
                             None)
        if image_size:
            return image_size[0]
    return None


def test_every_algorithm_folder_has_configs():
    folders = {name.split(osp.sep)[0] for name in CONFIGS}
    assert {'disco', 'mocov2', 'seed', 'compress', 'simreg'} <= folders
    assert len(CONFIGS) >= 12


@pytest.mark.parametrize('name', [
    name if name in FAST_CONFIGS else pytest.param(
        name, marks=pytest.mark.slow) for name in CONFIGS
])
def test_config_model_gives_finite_losses(name, teacher_checkpoint_for):
    cfg = load(name)
    assert cfg.default_scope == 'mmpretrain'
    assert 'disco_mm' in cfg.custom_imports.imports
    shrink_queues(cfg.model, 8)
    if 'teacher' in cfg.model:
        cfg.model.teacher.checkpoint = teacher_checkpoint_for(
            cfg.model.teacher,
            8 if cfg.model.get('queue_from_teacher') else None)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    # Multi-crop configs (SwAV) name their crops per size: 32 px stands
    # for the large ones, 16 px for the small ones. A vision transformer
    # (student or teacher) takes only the image size it was built for.
    num_crops = cfg.get('num_crops') or [getattr(model, 'num_views', 2)]
    sizes = (transformer_image_size(model) or 32, 16)
    views = [
        torch.randn(2, 3, size, size)
        for count, size in zip(num_crops, sizes) for _ in range(count)
    ]
    losses = model.loss(views, [])
    expected = LOSSES[cfg.model.type]
    if 'local_loss' in cfg.model and cfg.model.local_loss is None:
        expected = expected - {'loss_local'}  # the global-only variant
    assert set(losses) == expected
    for loss in losses.values():
        assert loss.dim() == 0 and torch.isfinite(loss)


def test_config_teacher_checkpoint_must_exist():
    cfg = load('disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    shrink_queues(cfg.model, 8)
    with pytest.raises(FileNotFoundError, match=cfg.model.teacher.checkpoint):
        MODELS.build(cfg.model)


def test_official_config_changes_only_the_official_quirks():
    clean = load('disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    official = load(
        'disco/disco-official_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    assert official.model.teacher.bn_train_mode is True
    assert not clean.model.teacher.get('bn_train_mode', False)
    assert official.model.distill_loss.sum_batch_size is None
    assert clean.model.distill_loss.sum_batch_size == 32
    assert official.model.queue_from_teacher is True
    assert official.model.channels_last is False
    assert 'queue_from_teacher' not in clean.model
    assert 'channels_last' not in clean.model
    official.model.teacher.pop('bn_train_mode')
    official.model.distill_loss.sum_batch_size = 32
    official.model.pop('queue_from_teacher')
    official.model.pop('channels_last')
    assert official.model.to_dict() == clean.model.to_dict()


def test_official_config_keeps_the_default_memory_format(
        teacher_checkpoint_for):
    """Channels-last weights round differently from the official code's."""
    memory_formats = {}
    for name in ('disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py',
                 'disco-official_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'):
        cfg = load(osp.join('disco', name))
        shrink_queues(cfg.model, 8)
        cfg.model.teacher.checkpoint = teacher_checkpoint_for(
            cfg.model.teacher, 8)
        model = MODELS.build(cfg.model)
        convolutions = [
            module.weight for module in model.modules()
            if isinstance(module, torch.nn.Conv2d)
        ]
        memory_formats[name.split('_')[0]] = {
            (weight.is_contiguous(),
             weight.is_contiguous(memory_format=torch.channels_last))
            for weight in convolutions if weight.shape[-1] > 1
        }
    assert memory_formats == {
        'disco': {(False, True)},
        'disco-official': {(True, False)}
    }


def test_bingo_official_config_changes_teacher_mode_only():
    clean = load('bingo/bingo_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    official = load(
        'bingo/bingo-official_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    assert official.model.teacher.pop('bn_train_mode') is True
    assert official.model.to_dict() == clean.model.to_dict()
    assert clean.model.cutmix_alpha == 2.0


def test_bingo_efficientnet_b0_takes_the_official_temperature_and_decay():
    resnet = load('bingo/bingo_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    efficientnet = load(
        'bingo/bingo_efficientnet-b0_mocov2-r50_8xb32-coslr-200e_in1k.py')
    assert efficientnet.model.head.temperature == 0.12
    assert efficientnet.optim_wrapper.optimizer.weight_decay == 4e-5
    assert resnet.model.head.temperature == 0.2
    assert resnet.optim_wrapper.optimizer.weight_decay == 1e-4


def test_simreg_weak_config_changes_the_views_only():
    strong = load('simreg/simreg_resnet18_mocov2-r50_8xb32-coslr-130e_in1k.py')
    weak = load(
        'simreg/simreg-weak_resnet18_mocov2-r50_8xb32-coslr-130e_in1k.py')
    assert weak.model == strong.model
    assert weak.optim_wrapper == strong.optim_wrapper
    load_image, views, pack = weak.train_dataloader.dataset.pipeline
    assert views.type == 'MultiView' and views.num_views == 1
    crop, flip = views.transforms[0]
    assert crop.type == 'RandomResizedCrop' and crop.scale == 224
    assert tuple(crop.crop_ratio_range) == (0.2, 1.0)
    assert flip.type == 'RandomFlip' and flip.prob == 0.5
    strong_views = strong.train_dataloader.dataset.pipeline[1]
    assert [step.type for step in strong_views.transforms[0]] != [
        'RandomResizedCrop', 'RandomFlip'
    ]


def test_digits_disco_and_baseline_share_the_student():
    disco = load(
        'disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py')
    baseline = load('mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py')
    teacher = load('mocov2/mocov2_resnet18-w32_1xb64-coslr-100e_digits.py')
    student = disco.model.to_dict()
    assert student.pop('type') == 'DisCo'
    assert student.pop('distill_loss')['type'] == 'EmbeddingDistillLoss'
    distilled_from = student.pop('teacher')
    assert baseline.model.to_dict() == dict(student, type='MoCoV2Student')
    assert distilled_from['backbone'] == teacher.model.backbone.to_dict()
    assert distilled_from['neck'] == teacher.model.neck.to_dict()
    for key in ('train_cfg', 'optim_wrapper', 'param_scheduler',
                'train_dataloader'):
        assert disco[key] == baseline[key], key
