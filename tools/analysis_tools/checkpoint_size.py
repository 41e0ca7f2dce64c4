"""Compares a DisCo training checkpoint's size with the official code's.

disco_mm saves what training needs to resume: the student and its
projector, the momentum key encoder, the queue and the optimizer state. The
teacher is left out (it is reloaded from its own file). The official code
(Yuting-Gao/DisCo-pytorch) saves ``model.state_dict()`` of the whole
wrapper, two teacher copies included. This script builds both for a
ResNet-18 student and a MoCo-v2 ResNet-50 teacher (random weights), takes
one SGD step so that the momentum buffers exist, saves each as its code
saves it and prints the file sizes.

Example:
    python tools/analysis_tools/checkpoint_size.py
"""
import argparse
import os
import os.path as osp
import tempfile
from collections import Counter

import torch
import torchvision
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.runner.checkpoint import weights_to_cpu
from mmpretrain.registry import MODELS
from torch import nn

import disco_mm  # noqa: F401  (registers the models)

CONFIG = 'configs/disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'
#: The images of the one step: their size does not change any tensor kept.
STEP_IMAGES = (2, 3, 64, 64)


def moco_encoder(depth: int, hidden: int, dim: int = 128) -> nn.Module:
    """A torchvision ResNet whose ``fc`` is MoCo-v2's MLP projector."""
    encoder = getattr(torchvision.models, f'resnet{depth}')(num_classes=dim)
    width = encoder.fc.in_features
    encoder.fc = nn.Sequential(
        nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, dim))
    return encoder


def official_checkpoint(queue_len: int = 65536) -> dict:
    """The official code's checkpoint of DisCo ResNet-18 <- ResNet-50.

    Its wrapper holds the student ``encoder_q`` (projector hidden 2048),
    the momentum copy ``encoder_k``, the teacher twice
    (``teacher_encoder_q``, ``teacher_encoder_k``) and the queue, saved
    with a DDP ``module.`` prefix; SGD has momentum buffers for the
    student's parameters only (the others have no gradient).
    """
    wrapper = nn.Module()
    wrapper.encoder_q = moco_encoder(18, 2048)
    wrapper.encoder_k = moco_encoder(18, 2048).requires_grad_(False)
    wrapper.teacher_encoder_q = moco_encoder(50, 2048).requires_grad_(False)
    wrapper.teacher_encoder_k = moco_encoder(50, 2048).requires_grad_(False)
    wrapper.register_buffer('queue', torch.randn(128, queue_len))
    wrapper.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))
    optimizer = torch.optim.SGD(
        wrapper.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    for param in wrapper.encoder_q.parameters():
        param.grad = torch.randn_like(param)
    optimizer.step()
    return dict(
        epoch=1,
        arch='resnet18',
        state_dict={
            f'module.{key}': value
            for key, value in wrapper.state_dict().items()
        },
        optimizer=optimizer.state_dict())


def disco_mm_checkpoint(config: str, work_dir: str) -> dict:
    """A disco_mm training checkpoint of ``config`` after one step.

    The teacher gets a random checkpoint of its own; the dictionary is the
    one mmengine's ``Runner.save_checkpoint`` writes (its message hub and
    scheduler states, a few kB, aside).
    """
    cfg = Config.fromfile(config)
    teacher = cfg.model.teacher
    teacher.checkpoint = osp.join(work_dir, 'teacher.pth')
    torch.save(
        {
            'state_dict': {
                f'{part}.{key}': value
                for part in ('backbone', 'neck')
                for key, value in MODELS.build(
                    teacher[part]).state_dict().items()
            }
        }, teacher.checkpoint)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    views = [torch.randn(STEP_IMAGES), torch.randn(STEP_IMAGES)]
    loss, _ = model.parse_losses(model.loss(views, []))
    optim_wrapper.update_params(loss)
    return dict(
        meta=dict(cfg=cfg.pretty_text, epoch=1, iter=1),
        state_dict=weights_to_cpu(model.state_dict()),
        optimizer=optim_wrapper.state_dict())


def megabytes_by_part(checkpoint: dict) -> Counter:
    """Tensor MB (1e6 bytes) per model part and for the optimizer state.

    A part is the first name of a ``state_dict`` key after any DDP
    ``module.`` prefix (``backbone``, ``key_encoder``, ``teacher_encoder_q``,
    ``queue``, ...).
    """
    sizes = Counter()
    for key, value in checkpoint['state_dict'].items():
        part = key[len('module.'):] if key.startswith('module.') else key
        sizes[part.split('.')[0]] += value.numel() * value.element_size()
    for state in checkpoint['optimizer']['state'].values():
        sizes['optimizer'] += sum(value.numel() * value.element_size()
                                  for value in state.values()
                                  if isinstance(value, torch.Tensor))
    return Counter({part: size / 1e6 for part, size in sizes.items()})


def report(name: str, checkpoint: dict, path: str) -> str:
    """Saves ``checkpoint`` and returns its Markdown table row."""
    torch.save(checkpoint, path)
    parts = ', '.join(f'{part} {size:.1f}'
                      for part, size in megabytes_by_part(checkpoint).items())
    return f'| {name} | {os.path.getsize(path) / 1e6:.1f} | {parts} |'


def main() -> None:
    """Prints both sizes as a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--config', default=CONFIG, help=f'the DisCo config ({CONFIG})')
    args = parser.parse_args()
    # mmengine logs every parameter's initialisation at INFO
    MMLogger.get_instance('checkpoint_size', log_level='WARNING')
    with tempfile.TemporaryDirectory() as work_dir:
        rows = [
            report('disco_mm', disco_mm_checkpoint(args.config, work_dir),
                   osp.join(work_dir, 'disco_mm.pth')),
            report('official code', official_checkpoint(),
                   osp.join(work_dir, 'official.pth.tar')),
        ]
    print(
        '| DisCo ResNet-18 <- ResNet-50 | file (MB) | tensors by part (MB) |')
    print('|---|---|---|')
    print('\n'.join(rows))


if __name__ == '__main__':
    main()
