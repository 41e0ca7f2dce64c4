"""Evaluates a checkpoint with a config's test loop (mmengine Runner).

Used with evaluation configs (e.g. mmpretrain's linear-eval benchmarks that
load a disco_mm student with ``prefix='backbone.'``).

Example:
    python tools/test.py CONFIG CHECKPOINT --work-dir work_dirs/eval
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from disco_mm.compat import setup_cpu_distributed


def parse_args() -> argparse.Namespace:
    """Reads the command line (mmpretrain's flags)."""
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument(
        '--out', help='dump the metrics to this file (.json or .pkl)')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. test_dataloader.batch_size=64')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if cfg.get('test_cfg') is None or cfg.get('test_dataloader') is None:
        raise ValueError(
            f'{args.config} has no test_dataloader/test_cfg: pretraining '
            'configs have no test loop; use an evaluation config (see '
            'configs/*/README.md).')
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs',
        osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True
    setup_cpu_distributed(cfg, args.launcher)
    metrics = Runner.from_cfg(cfg).test()
    if args.out:
        from mmengine.fileio import dump
        dump(metrics, args.out)


if __name__ == '__main__':
    main()
