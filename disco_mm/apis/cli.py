"""Command-line pieces shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import copy
import os
import os.path as osp
from typing import Sequence

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..engine import ReliableRunner
from ..engine.cpu_distributed import joins_cpu_process_group


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
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='do not pin the data loaders\' batches in page-locked memory')


def apply_dataloader_defaults(cfg: Config, args: argparse.Namespace,
                              fields: Sequence[str]) -> None:
    """Fills in the data loader defaults that mmpretrain's tools fill in.

    A loader config gets ``pin_memory=True``, ``default_collate`` and, when
    the tool has ``--no-persistent-workers`` (training),
    ``persistent_workers=True`` unless it sets them itself, so a config runs
    the same under these tools and under mmpretrain's (without a
    ``collate_fn`` mmengine would hand the model a list of samples).
    ``--no-pin-memory`` / ``--no-persistent-workers`` switch those off.

    Args:
        cfg (Config): The config, changed in place.
        args (argparse.Namespace): The parsed flags.
        fields (Sequence[str]): The loaders the tool builds, e.g.
            ``('train_dataloader', 'val_dataloader', 'test_dataloader')``.
    """
    defaults = dict(pin_memory=True, collate_fn=dict(type='default_collate'))
    trains = hasattr(args, 'no_persistent_workers')
    if trains:
        defaults['persistent_workers'] = True
    for field in fields:
        if cfg.get(field) is None:
            continue
        loader = ConfigDict(copy.deepcopy(defaults))
        loader.update(cfg[field])
        if args.no_pin_memory:
            loader.pin_memory = False
        if trains and args.no_persistent_workers:
            loader.persistent_workers = False
        cfg[field] = loader


def load_config(args: argparse.Namespace,
                dataloader_fields: Sequence[str]) -> Config:
    """Reads ``args.config`` and applies the common flags.

    The data loader defaults come first (:func:`apply_dataloader_defaults`),
    then ``--cfg-options``, as in mmpretrain's tools. No process group is
    opened here: the Runner does that.

    Args:
        args (argparse.Namespace): Parsed flags of :func:`add_runner_args`
            plus ``config``.
        dataloader_fields (Sequence[str]): The data loaders the tool builds.

    Returns:
        mmengine.Config: The config with overrides, work dir and launcher.
    """
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    apply_dataloader_defaults(cfg, args, dataloader_fields)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    return cfg


def build_runner(cfg: Config) -> Runner:
    """Builds the config's Runner, as mmpretrain's tools do.

    Args:
        cfg (Config): The config; ``runner_type`` selects a registered
            Runner class (e.g. disco_mm's ``ReliableRunner``).

    Returns:
        Runner: The runner.

    Raises:
        RuntimeError: Several processes without a GPU under a Runner that
            cannot run them (mmengine's would stop at a CUDA call).
    """
    runner_class = RUNNERS.get(cfg.get('runner_type', 'Runner'))
    if (joins_cpu_process_group(cfg.get('launcher', 'none'))
            and not issubclass(runner_class, ReliableRunner)):
        raise RuntimeError(
            f'{runner_class.__name__} needs a GPU for each process; without '
            "GPUs only runner_type='ReliableRunner' trains with several "
            'processes: add --cfg-options runner_type=ReliableRunner.')
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
