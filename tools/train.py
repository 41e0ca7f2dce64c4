"""Trains a model from a config with the mmengine Runner.

The console shows the Runner's log (the resolved config first) and a
progress bar with the ETA and the share of time spent waiting for data.

Example:
    python tools/train.py configs/disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py \
        --cfg-options model.teacher.checkpoint=checkpoints/mocov2_r50.pth
    bash tools/dist_train.sh CONFIG 8 --resume
"""
import argparse

import torch
from mmengine.config import Config

from disco_mm.apis import (TrainingProgressHook, add_runner_args,
                           build_runner, keep_freed_cpu_memory, load_config)
from disco_mm.datasets import check_train_data_root
from disco_mm.engine import amp_optim_wrapper_type

#: The data loaders a training run builds.
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def parse_args() -> argparse.Namespace:
    """Reads the command line (mmpretrain's flags)."""
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or from the latest '
        'checkpoint in the work dir when no path is given')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate during training (no val loop)')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate to the actual global batch')
    parser.add_argument(
        '--return-freed-memory',
        action='store_true',
        help='on CPU, let glibc return freed memory to the kernel: a lower '
        'peak, slower steps (see docs/benchmarks.md)')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='do not keep data loader workers between epochs')
    add_runner_args(parser)
    return parser.parse_args()


def apply_train_flags(cfg: Config, args: argparse.Namespace) -> Config:
    """Applies the training-only flags to the config."""
    if args.amp:
        cfg.optim_wrapper.type = amp_optim_wrapper_type(
            'cuda' if torch.cuda.is_available() else 'cpu')
        if cfg.optim_wrapper.type == 'AmpOptimWrapper':
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise ValueError(
                '--auto-scale-lr needs auto_scale_lr.base_batch_size in the '
                'config: the global batch the learning rate was set for.')
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return cfg


def main() -> None:
    args = parse_args()
    cfg = apply_train_flags(load_config(args, DATALOADERS), args)
    check_train_data_root(cfg)
    if not torch.cuda.is_available() and not args.return_freed_memory:
        keep_freed_cpu_memory()
    runner = build_runner(cfg)
    runner.register_hook(TrainingProgressHook())
    runner.train()


if __name__ == '__main__':
    main()
