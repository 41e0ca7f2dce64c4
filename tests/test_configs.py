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
LOSSES = {
    'BINGO': {'loss_bag', 'loss_mix'},
    'DisCo': {'loss_contrastive', 'loss_distill'},
    'DistilledSelfSup': {'loss_student', 'loss_distill'},
    'MoCoV2Student': {'loss_contrastive'},
    'SEED': {'loss_distill'},
    'CompRess1q': {'loss_distill'},
    'CompRess2q': {'loss_distill'},
    'SimReg': {'loss_distill'},
}


def load(name):
    """Reads ``configs/<name>``."""
    return Config.fromfile(osp.join(CONFIG_ROOT, name))


@pytest.fixture(scope='session')
def teacher_checkpoint_for(tmp_path_factory, make_teacher_checkpoint):
    """Returns a function giving a random checkpoint for a teacher config.

    Checkpoints are written once per teacher architecture and session.
    """
    root = tmp_path_factory.mktemp('config_teachers')
    written = {}

    def checkpoint(teacher):
        neck = teacher.neck.to_dict() if teacher.neck else None
        arch = repr((teacher.backbone.to_dict(), neck))
        if arch not in written:
            written[arch] = str(root / f'teacher_{len(written)}.pth')
            make_teacher_checkpoint(
                written[arch], backbone=teacher.backbone.to_dict(), neck=neck)
        return written[arch]

    return checkpoint


def test_every_algorithm_folder_has_configs():
    folders = {name.split(osp.sep)[0] for name in CONFIGS}
    assert {'disco', 'mocov2', 'seed', 'compress', 'simreg'} <= folders
    assert len(CONFIGS) >= 12


@pytest.mark.parametrize('name', CONFIGS)
def test_config_model_gives_finite_losses(name, teacher_checkpoint_for):
    cfg = load(name)
    assert cfg.default_scope == 'mmpretrain'
    assert 'disco_mm' in cfg.custom_imports.imports
    shrink_queues(cfg.model, 8)
    if 'teacher' in cfg.model:
        cfg.model.teacher.checkpoint = teacher_checkpoint_for(
            cfg.model.teacher)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    views = [
        torch.randn(2, 3, 32, 32)
        for _ in range(getattr(model, 'num_views', 2))
    ]
    losses = model.loss(views, [])
    assert set(losses) == LOSSES[cfg.model.type]
    for loss in losses.values():
        assert loss.dim() == 0 and torch.isfinite(loss)


def test_config_teacher_checkpoint_must_exist():
    cfg = load('disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    shrink_queues(cfg.model, 8)
    with pytest.raises(FileNotFoundError, match=cfg.model.teacher.checkpoint):
        MODELS.build(cfg.model)


def test_official_config_changes_teacher_mode_and_sum_only():
    clean = load('disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    official = load(
        'disco/disco-official_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
    assert official.model.teacher.bn_train_mode is True
    assert not clean.model.teacher.get('bn_train_mode', False)
    assert official.model.distill_loss.sum_batch_size is None
    assert clean.model.distill_loss.sum_batch_size == 32
    official.model.teacher.pop('bn_train_mode')
    official.model.distill_loss.sum_batch_size = 32
    assert official.model.to_dict() == clean.model.to_dict()


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
