"""Trains every method's digits config from one teacher and compares them.

One digits teacher is trained once (or given with ``--teacher``): the
MoCo-v2 ResNet-18 of ``mocov2/``, or the config of ``--teacher-config``;
every method's digits config then trains its student from that teacher
under one budget (``--epochs`` sets every ``train_cfg.max_epochs``), each
in its own work dir. BINGO configs get their bags built from the same
teacher first. Every student is evaluated on the held-out digits exactly
as ``tools/digits_demo.py`` does (the loaders and ``evaluate`` of
:mod:`disco_mm.apis.experiments`): linear probe and weighted kNN on the
pooled backbone feature, mean cosine between the student's final embedding
and the teacher's. The table (mean +- std
over seeds) is printed and written to ``results.md`` and ``results.json``,
which also name the methods that lie within one std of each other on linear
or kNN top-1: the table does not rank those. The protocol is
:mod:`disco_mm.apis.method_comparison`.

A config (or pattern) that matches no file is skipped with an error on
stderr; the others still run. ``--resume`` continues an interrupted
comparison in the same ``--work-dir``: each training from its newest intact
checkpoint, a finished one only loaded.

Example:
    python tools/analysis_tools/compare_methods.py --seeds 0 1 2
    python tools/analysis_tools/compare_methods.py --seeds 0 1 2 --resume
    python tools/analysis_tools/compare_methods.py --epochs 20 \\
        --teacher work_dirs/mocov2_resnet18-w32_1xb64-coslr-100e_digits/epoch_100.pth
    python tools/analysis_tools/compare_methods.py --configs \\
        mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py 'bingo/*_digits.py'
    python tools/analysis_tools/compare_methods.py --teacher-config \
        mocov3/mocov3_vit-w192-d6-p4_1xb64-adamw-coslr-100e_digits.py \
        --configs 'disco/*_mocov3-vit-*_digits.py'
"""
import argparse
import os
import sys
from typing import List, Optional

from mmengine.config import DictAction

# Importing disco_mm registers its components before any config loads.
from disco_mm.apis import keep_freed_cpu_memory
from disco_mm.apis.experiments import TEACHER
from disco_mm.apis.method_comparison import (DEFAULT_CONFIGS, Budget,
                                             compare_methods, resolve_configs)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Train every method on digits from one teacher and '
        'compare them on the held-out split.')
    parser.add_argument(
        '--configs',
        nargs='+',
        default=list(DEFAULT_CONFIGS),
        help='method configs (paths or glob patterns, relative to configs/ '
        'or the current folder)')
    parser.add_argument(
        '--work-dir', default='work_dirs/compare_methods', help='output')
    parser.add_argument(
        '--teacher',
        help='teacher checkpoint of the digits teacher config; without it '
        'the teacher is trained once first')
    parser.add_argument(
        '--teacher-config',
        default=TEACHER.config,
        help='config of the teacher, relative to configs/ or the current '
        'folder: trained without --teacher, and the teacher of the cosine '
        'column; --configs must distil from a teacher of its architecture '
        f'(default: {TEACHER.config})')
    parser.add_argument(
        '--teacher-epochs',
        type=int,
        help='epochs of the teacher when it is trained (default: its '
        'config\'s)')
    parser.add_argument(
        '--epochs', type=int, help='max_epochs of every method')
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=[0], help='one run each')
    parser.add_argument(
        '--train-images',
        type=int,
        help='train on the first N training images only (smoke tests)')
    parser.add_argument(
        '--quick-eval',
        action='store_true',
        help='evaluate on the few images of digits_demo --quick')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue the trainings of an earlier run in the same '
        '--work-dir from their newest intact checkpoints (finished ones are '
        'only loaded) and evaluate them all')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='overrides for every training, teacher included')
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Trains the teacher and every method, evaluates, writes the table."""
    args = parse_args(argv)
    keep_freed_cpu_memory()
    os.makedirs(args.work_dir, exist_ok=True)
    configs, errors = resolve_configs(args.configs)
    for error in errors:
        print(f'[compare_methods] error: {error}', file=sys.stderr)
    if not configs:
        sys.exit('[compare_methods] error: no config to train.')
    teacher_configs, _ = resolve_configs([args.teacher_config])
    if len(teacher_configs) != 1:
        sys.exit(f'[compare_methods] error: --teacher-config '
                 f'{args.teacher_config} names {len(teacher_configs)} '
                 'configs; give the path of one teacher config.')
    compare_methods(configs, errors, args.work_dir, args.seeds,
                    Budget(args.epochs, args.train_images, args.cfg_options),
                    args.teacher, args.teacher_epochs, args.quick_eval,
                    args.resume, teacher_configs[0])


if __name__ == '__main__':
    main()
