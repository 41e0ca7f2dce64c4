"""Command-line pieces shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from ..compat import setup_cpu_distributed


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """Adds mmpretrain's common flags: work dir, AMP, overrides, launcher.

    Args:
        parser (argparse.ArgumentParser): The tool's parser.
    """
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'model.teacher.checkpoint=PATH train_cfg.max_epochs=10')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(args: argparse.Namespace) -> Config:
    """Reads ``args.config`` and applies the common flags.

    Also joins the process group on CPU-only machines (see
    :func:`disco_mm.compat.setup_cpu_distributed`).

    Args:
        args (argparse.Namespace): Parsed flags of :func:`add_runner_args`
            plus ``config``.

    Returns:
        mmengine.Config: The config with overrides, work dir and launcher.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    setup_cpu_distributed(cfg, args.launcher)
    return cfg
