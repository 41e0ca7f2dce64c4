"""Every method with a transformer on one side of the distillation.

Each method's digits config is built with its student, or its teacher,
swapped for the tiny ViTs of ``configs/_base_/models/mocov3_vit_digits.py``
(a ViT student from the ResNet teacher; a ResNet student from a MoCo-v3
ViT teacher with MoCo-v3's projector), and trains one step on a real digits
batch of the config's own pipeline (BINGO's bags built from the teacher by
the documented tool's code).
"""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import DATASETS, MODELS
from torch.utils.data import DataLoader

from checkpoint_layouts import teacher_state_dict
from disco_mm.apis.bingo_bags import build_bags
from queues import shrink_queues

#: Each method's digits config, relative to configs/.
METHOD_CONFIGS = {
    'DisCo':
    'disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
    'SEED': 'seed/seed_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
    'CompRess-1q': 'compress/compress-1q_resnet18-w16_mocov2-r18-w32_'
    '1xb64-coslr-60e_digits.py',
    'CompRess-2q': 'compress/compress-2q_resnet18-w16_mocov2-r18-w32_'
    '1xb64-coslr-60e_digits.py',
    'SimReg':
    'simreg/simreg_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
    'BINGO':
    'bingo/bingo_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
}
VIT_FRAGMENT = '_base_/models/mocov3_vit_digits.py'
#: Digits images of the step and its batch size.
IMAGES, BATCH_SIZE = 16, 8


def with_vit_student(cfg: Config, vits: Config) -> None:
    """Makes the student the 96 wide digits ViT; its projector takes it."""
    cfg.model.backbone = copy.deepcopy(vits.digits_vit_student)
    if cfg.model.get('neck'):
        cfg.model.neck.in_channels = vits.digits_vit_student.embed_dim


def with_vit_teacher(cfg: Config, vits: Config) -> None:
    """Makes the teacher the digits MoCo-v3 ViT, projector and all.

    A method that distils the teacher's pooled feature (SimReg,
    CompRess-1q) predicts it: its projector then gives the ViT's width.
    """
    teacher = cfg.model.teacher
    teacher.backbone = copy.deepcopy(vits.mocov3_digits.backbone)
    if teacher.neck is not None:
        teacher.neck = copy.deepcopy(vits.mocov3_digits.neck)
    elif cfg.model.get('neck'):
        cfg.model.neck.out_channels = vits.digits_vit_teacher.embed_dim


def digits_loader(cfg: Config, teacher_file: str, tmp_path) -> DataLoader:
    """The config's own training pipeline on the first digits images."""
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    if dataset.type == 'NeighbourBagDataset':
        dataset.dataset.indices = IMAGES
        cfg.train_dataloader.dataset = dataset
        dataset.bag_file = build_bags(cfg, teacher_file,
                                      str(tmp_path / 'bags.npy'))
    else:
        dataset.indices = IMAGES
    return DataLoader(
        DATASETS.build(dataset),
        batch_size=BATCH_SIZE,
        collate_fn=default_collate)


@pytest.mark.parametrize('side', ['student', 'teacher'])
@pytest.mark.parametrize('method', list(METHOD_CONFIGS))
def test_method_trains_with_a_transformer(repo_root, tmp_path, method,
                                          side):
    configs = osp.join(repo_root, 'configs')
    cfg = Config.fromfile(osp.join(configs, METHOD_CONFIGS[method]))
    vits = Config.fromfile(osp.join(configs, VIT_FRAGMENT))
    (with_vit_student if side == 'student' else with_vit_teacher)(cfg, vits)
    teacher_file = str(tmp_path / 'teacher.pth')
    torch.save({
        'state_dict':
        teacher_state_dict(cfg.model.teacher.backbone, cfg.model.teacher.neck)
    }, teacher_file)
    cfg.model.teacher.checkpoint = teacher_file
    shrink_queues(cfg.model, 3 * BATCH_SIZE)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    vit = model.backbone if side == 'student' else model.teacher.backbone
    assert type(vit.model).__name__ == 'VisionTransformer'
    before = copy.deepcopy(model.backbone.state_dict())
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    batch = next(iter(digits_loader(cfg, teacher_file, tmp_path)))
    losses = model.train_step(batch, optim_wrapper)
    assert torch.isfinite(losses['loss'])
    unchanged = [
        name for name, value in model.backbone.named_parameters()
        if torch.equal(value, before[name])
    ]
    assert not unchanged, unchanged
