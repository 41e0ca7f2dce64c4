"""Trains every method's digits config from one teacher and compares them.

One digits MoCo-v2 teacher is trained once (or given with ``--teacher``);
every method's digits config then trains its student from that teacher
under one budget (``--epochs`` sets every ``train_cfg.max_epochs``), each
in its own work dir. BINGO configs get their bags built from the same
teacher first. Every student is evaluated on the held-out digits exactly
as ``tools/digits_demo.py`` does (its loaders and its ``evaluate``): linear
probe and weighted kNN on the pooled backbone feature, mean cosine between
the student's final embedding and the teacher's. The table (mean +- std
over seeds) is printed and written to ``results.md`` and ``results.json``.

A config (or pattern) that matches no file is skipped with an error on
stderr; the others still run.

Example:
    python tools/analysis_tools/compare_methods.py --seeds 0 1 2
    python tools/analysis_tools/compare_methods.py --epochs 20 \\
        --teacher work_dirs/mocov2_resnet18-w32_1xb64-coslr-100e_digits/epoch_100.pth
    python tools/analysis_tools/compare_methods.py --configs \\
        mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py 'bingo/*_digits.py'
"""
import argparse
import glob
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from torch import nn

TOOLS_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, TOOLS_ROOT)

import digits_demo  # noqa: E402
from analysis_tools.build_bingo_bags import (  # noqa: E402
    TeacherFeatureModel, build_bags)
from disco_mm.apis import keep_freed_cpu_memory  # noqa: E402

CONFIG_ROOT = digits_demo.CONFIG_ROOT

#: Every method's digits config, relative to configs/; patterns allowed.
DEFAULT_CONFIGS = (
    'mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py',
    'disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
    'seed/*_digits.py',
    'compress/*1q*_digits.py',
    'compress/*2q*_digits.py',
    'simreg/*_digits.py',
    'bingo/*_digits.py',
    'distilled_ssl/disco-byol_*_digits.py',
    'distilled_ssl/disco-simsiam_*_digits.py',
)

#: The table's columns after method and student: key, title, format.
COLUMNS = digits_demo.METRIC_COLUMNS + (('seconds_per_epoch',
                                         'train time / epoch (s)', '{:.1f}'), )


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
        '--cfg-options',
        nargs='+',
        action=DictAction,
        default={},
        help='overrides for every training, teacher included')
    return parser.parse_args(argv)


def resolve_configs(patterns: List[str]) -> Tuple[List[str], List[str]]:
    """Finds the config files of each pattern.

    Args:
        patterns (list[str]): Paths or glob patterns, relative to
            ``configs/`` or the current folder.

    Returns:
        tuple: The existing configs (absolute, in the given order, each
        once) and an error message per pattern that matched nothing.
    """
    found, errors = [], []
    for pattern in patterns:
        matches = sorted(glob.glob(osp.join(CONFIG_ROOT, pattern))) or sorted(
            glob.glob(pattern))
        if not matches:
            errors.append(
                f'config {pattern} does not exist (looked in {CONFIG_ROOT} '
                'and the current folder): skipped. Pass existing configs '
                'with --configs.')
        found += [
            osp.abspath(path) for path in matches
            if osp.abspath(path) not in found
        ]
    return found, errors


def method_names(configs: List[str]) -> Dict[str, str]:
    """Names each config's method for the table and its work dir.

    Args:
        configs (list[str]): The config paths.

    Returns:
        dict: Per config, the first field of its file name (``bingo``), or
        its whole name without ``.py`` where two configs share that field.
    """
    first_fields = [osp.basename(config).split('_')[0] for config in configs]
    return {
        config: field if first_fields.count(field) == 1 else
        osp.splitext(osp.basename(config))[0]
        for config, field in zip(configs, first_fields)
    }


def describe_student(model: nn.Module) -> str:
    """Names a model's backbone and its parameters, e.g. ResNet-18 (0.70M)."""
    backbone = model.backbone
    depth = getattr(backbone, 'depth', None)
    name = type(backbone).__name__ + (f'-{depth}' if depth else '')
    params = sum(param.numel() for param in backbone.parameters())
    return f'{name} ({params / 1e6:.2f}M)'


def teacher_for_evaluation(checkpoint: str) -> nn.Module:
    """Builds the digits teacher from a checkpoint of any teacher format.

    Args:
        checkpoint (str): The teacher checkpoint.

    Returns:
        nn.Module: A model with the teacher's ``backbone``, ``neck`` and
        the digits ``data_preprocessor``, as ``evaluate`` takes it.
    """
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, digits_demo.TEACHER.config))
    init_default_scope('mmpretrain')
    teacher = MODELS.build(
        dict(
            type='FrozenTeacher',
            backbone=cfg.model.backbone,
            neck=cfg.model.neck,
            checkpoint=checkpoint))
    return TeacherFeatureModel(teacher,
                               MODELS.build(cfg.data_preprocessor))


def training_overrides(cfg: Config, args: argparse.Namespace) -> dict:
    """The overrides of one training: budget, image subset, options.

    Args:
        cfg (Config): The training's config.
        args (argparse.Namespace): The command line.

    Returns:
        dict: Config entries, mmengine style.
    """
    overrides = dict(args.cfg_options)
    if args.epochs:
        overrides['train_cfg.max_epochs'] = args.epochs
    if args.train_images:
        dataset_key = 'train_dataloader.dataset'
        if cfg.train_dataloader.dataset.type == 'NeighbourBagDataset':
            dataset_key += '.dataset'
        overrides[f'{dataset_key}.indices'] = args.train_images
    return overrides


def train_method(config: str, name: str, seed: int,
                 args: argparse.Namespace,
                 teacher_checkpoint: str) -> Tuple[nn.Module, float]:
    """Trains one method's student from the shared teacher.

    Args:
        config (str): The method's config.
        name (str): The method's name, its work dir under ``--work-dir``.
        seed (int): The run's seed.
        args (argparse.Namespace): The command line.
        teacher_checkpoint (str): The shared teacher.

    Returns:
        tuple: The trained model and its wall time per epoch in seconds
        (the whole training run, start-up included, over its epochs).
    """
    work_dir = osp.join(args.work_dir, name, f'seed_{seed}')
    cfg = Config.fromfile(config)
    overrides = training_overrides(cfg, args)
    if cfg.train_dataloader.dataset.type == 'NeighbourBagDataset':
        cfg.merge_from_dict(overrides)
        overrides['train_dataloader.dataset.bag_file'] = build_bags(
            cfg, teacher_checkpoint, osp.join(work_dir, 'bags.npy'))
    started = time.perf_counter()
    model, _, epochs = digits_demo.train(
        digits_demo.Phase(name, name, config), work_dir, seed, False,
        teacher_checkpoint, overrides)
    return model, (time.perf_counter() - started) / epochs


def train_teacher(args: argparse.Namespace) -> str:
    """Trains the digits teacher once and returns its last checkpoint."""
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, digits_demo.TEACHER.config))
    overrides = training_overrides(cfg, args)
    overrides.pop('train_cfg.max_epochs', None)
    if args.teacher_epochs:
        overrides['train_cfg.max_epochs'] = args.teacher_epochs
    _, checkpoint, _ = digits_demo.train(digits_demo.TEACHER,
                                         osp.join(args.work_dir, 'teacher'),
                                         args.seeds[0], False, None,
                                         overrides)
    return checkpoint


def summarise(runs: Dict[str, List[dict]]) -> Dict[str, dict]:
    """Each metric of each method as values, mean and sample std."""
    summary = {}
    for name, per_seed in runs.items():
        summary[name] = dict(
            student=per_seed[0]['student'], config=per_seed[0]['config'])
        for metric, _, _ in COLUMNS:
            values = [run[metric] for run in per_seed]
            summary[name][metric] = dict(
                values=values,
                mean=statistics.fmean(values),
                std=statistics.stdev(values) if len(values) > 1 else None)
    return summary


def format_table(summary: Dict[str, dict]) -> str:
    """The summary as a markdown table, one method per row."""
    header = ['method', 'student'] + [title for _, title, _ in COLUMNS]
    lines = ['| ' + ' | '.join(header) + ' |', '|---' * len(header) + '|']
    for name, row in summary.items():
        cells = [name, row['student']]
        for metric, _, number in COLUMNS:
            cell = number.format(row[metric]['mean'])
            if row[metric]['std'] is not None:
                cell += ' +- ' + number.format(row[metric]['std'])
            cells.append(cell)
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


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
    teacher_checkpoint = args.teacher or train_teacher(args)
    teacher = teacher_for_evaluation(teacher_checkpoint)
    loaders = digits_demo.build_eval_loaders(args.quick_eval)
    names = method_names(configs)
    runs: Dict[str, List[dict]] = {name: [] for name in names.values()}
    for seed in args.seeds:
        models, seconds = {digits_demo.TEACHER.name: teacher}, {}
        for config, name in names.items():
            models[name], seconds[name] = train_method(
                config, name, seed, args, teacher_checkpoint)
        print(
            f'[compare_methods] seed {seed}: evaluating {len(names)} '
            'students on frozen features',
            flush=True)
        results, _ = digits_demo.evaluate(models, loaders)
        for config, name in names.items():
            runs[name].append(
                dict(
                    results[name],
                    seconds_per_epoch=seconds[name],
                    student=describe_student(models[name]),
                    config=osp.relpath(config, CONFIG_ROOT)))
    summary = summarise(runs)
    table = format_table(summary)
    epochs = args.epochs or 'those of each config'
    notes = [
        f'Seeds: {args.seeds}. Teacher: {teacher_checkpoint}. Epochs: '
        f'{epochs}. Held-out images: '
        f'{len(loaders["test"].dataset)}.',
        'Train time / epoch: wall time of the whole training run (start-up '
        'included) over its epochs. Evaluation as tools/digits_demo.py: '
        'linear probe and kNN on the pooled backbone feature, cosine of the '
        'final embeddings.', *errors
    ]
    with open(osp.join(args.work_dir, 'results.md'), 'w') as report:
        report.write('\n\n'.join([
            '# Methods on digits from one teacher', table, *notes,
            f'Command: python {" ".join(sys.argv)}'
        ]) + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as record:
        json.dump(
            dict(
                seeds=args.seeds,
                epochs=args.epochs,
                teacher=teacher_checkpoint,
                skipped=errors,
                methods=summary),
            record,
            indent=2)
    print('\n' + table + '\n\n' + '\n'.join(notes))
    print(f'Results written to {args.work_dir}/results.md and results.json')


if __name__ == '__main__':
    main()
