"""Every method's digits config trained from one teacher, and compared.

One digits teacher (the MoCo-v2 ResNet-18 unless another teacher config is
given) is trained once, or given; every method's digits config then trains
its student from that teacher under one budget,
each in its own work dir. BINGO configs get their bags built from the same
teacher first. Every student is evaluated on the held-out digits by
:func:`~disco_mm.apis.experiments.evaluate`, as in the digits demo. The
table (mean +- std over seeds) is printed and written to ``results.md`` and
``results.json``; methods within one std of each other are named as not
ranked.
"""
import glob
import json
import os.path as osp
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from torch import nn

from .bingo_bags import TeacherFeatureModel, build_bags
from .experiments import (CONFIG_ROOT, METRIC_COLUMNS, TEACHER, Phase,
                          build_eval_loaders, evaluate, format_table,
                          summarise_runs, train, unranked_pairs)

#: Every method's digits config, relative to configs/; patterns allowed.
DEFAULT_CONFIGS = (
    'mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py',
    'disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
    'seed/*_digits.py',
    'compress/*1q*_digits.py',
    'compress/*2q*_digits.py',
    'simreg/*_digits.py',
    'bingo/*_digits.py',
    'global_local/*_digits.py',
    'distilled_ssl/disco-byol_*_digits.py',
    'distilled_ssl/disco-simsiam_*_digits.py',
)

#: The table's columns after method and student: key, title, format.
COLUMNS = METRIC_COLUMNS + (('seconds_per_epoch', 'train time / epoch (s)',
                             '{:.1f}'), )
#: The metrics on which close methods are named as not ranked.
RANKED_METRICS = ('linear_top1', 'knn_top1')


@dataclass(frozen=True)
class Budget:
    """What every training of a comparison shares.

    Attributes:
        epochs (int, optional): ``train_cfg.max_epochs`` of every method.
            Defaults to None: each config's.
        train_images (int, optional): Train on the first N training images
            only. Defaults to None: all.
        cfg_options (dict): Config overrides of every training, teacher
            included. Defaults to none.
    """

    epochs: Optional[int] = None
    train_images: Optional[int] = None
    cfg_options: dict = field(default_factory=dict)


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
        config: first_field if first_fields.count(first_field) == 1 else
        osp.splitext(osp.basename(config))[0]
        for config, first_field in zip(configs, first_fields)
    }


def describe_student(model: nn.Module) -> str:
    """Names a model's backbone and its parameters, e.g. ResNet-18 (0.70M).

    A timm model in a ``TimmPooledBackbone`` is named by its class, e.g.
    VisionTransformer (0.68M).
    """
    backbone = model.backbone
    depth = getattr(backbone, 'depth', None)
    name = type(getattr(backbone, 'model', backbone)).__name__ + (
        f'-{depth}' if depth else '')
    params = sum(param.numel() for param in backbone.parameters())
    return f'{name} ({params / 1e6:.2f}M)'


def teacher_phase(config: str) -> Phase:
    """The teacher's training phase for a teacher config.

    Args:
        config (str): The teacher's config, relative to ``configs/`` (or
            absolute).

    Returns:
        Phase: :data:`TEACHER` for its config, else a phase of the same
        name titled by the config.
    """
    if osp.join(CONFIG_ROOT, config) == osp.join(CONFIG_ROOT, TEACHER.config):
        return TEACHER
    title = f'teacher {osp.splitext(osp.basename(config))[0]}'
    return Phase(TEACHER.name, title, config)


def teacher_for_evaluation(checkpoint: str,
                           config: str = TEACHER.config,
                           fold_batch_norm: bool = True) -> nn.Module:
    """Builds the digits teacher from a checkpoint of any teacher format.

    Args:
        checkpoint (str): The teacher checkpoint.
        config (str): The config the teacher was trained with, relative to
            ``configs/`` (or absolute): its ``model.backbone`` and
            ``model.neck`` are built. Defaults to the digits MoCo-v2
            teacher's.
        fold_batch_norm (bool): Fold the BatchNorm layers into the
            convolutions (see :class:`FrozenTeacher`); False keeps the
            checkpoint's layers, e.g. to write them out. Defaults to True.

    Returns:
        nn.Module: A model with the teacher's ``backbone``, ``neck`` and
        the digits ``data_preprocessor``, as ``evaluate`` takes it.
    """
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, config))
    init_default_scope('mmpretrain')
    teacher = MODELS.build(
        dict(
            type='FrozenTeacher',
            backbone=cfg.model.backbone,
            neck=cfg.model.neck,
            checkpoint=checkpoint,
            # its features in float32, as the students' are taken
            precision='fp32',
            fold_batch_norm=fold_batch_norm))
    return TeacherFeatureModel(teacher, MODELS.build(cfg.data_preprocessor))


def training_overrides(cfg: Config, budget: Budget) -> dict:
    """The overrides of one training: budget, image subset, options.

    Args:
        cfg (Config): The training's config.
        budget (Budget): What every training shares.

    Returns:
        dict: Config entries, mmengine style.
    """
    overrides = dict(budget.cfg_options)
    if budget.epochs:
        overrides['train_cfg.max_epochs'] = budget.epochs
    if budget.train_images:
        dataset_key = 'train_dataloader.dataset'
        if cfg.train_dataloader.dataset.type == 'NeighbourBagDataset':
            dataset_key += '.dataset'
        overrides[f'{dataset_key}.indices'] = budget.train_images
    return overrides


def train_method(config: str, name: str, seed: int, work_dir: str,
                 budget: Budget, teacher_checkpoint: str,
                 resume: bool) -> Tuple[nn.Module, Optional[float]]:
    """Trains one method's student from the shared teacher.

    Args:
        config (str): The method's config.
        name (str): The method's name, its work dir under ``work_dir``.
        seed (int): The run's seed.
        work_dir (str): The comparison's work dir.
        budget (Budget): What every training shares.
        teacher_checkpoint (str): The shared teacher.
        resume (bool): Continue the training of an earlier comparison in
            the same work dir from its newest intact checkpoint.

    Returns:
        tuple: The trained model and its wall time per epoch in seconds
        (this call, start-up included, over the epochs it trained; None
        when a resumed training had nothing left to train).
    """
    run_dir = osp.join(work_dir, name, f'seed_{seed}')
    cfg = Config.fromfile(config)
    overrides = training_overrides(cfg, budget)
    if cfg.train_dataloader.dataset.type == 'NeighbourBagDataset':
        cfg.merge_from_dict(overrides)
        overrides['train_dataloader.dataset.bag_file'] = build_bags(
            cfg, teacher_checkpoint, osp.join(run_dir, 'bags.npy'))
    started = time.perf_counter()
    model, _, epochs = train(
        Phase(name, name, config), run_dir, seed, False, teacher_checkpoint,
        overrides, resume)
    return model, (time.perf_counter() - started) / epochs if epochs else None


def train_teacher(work_dir: str,
                  seed: int,
                  budget: Budget,
                  teacher_epochs: Optional[int],
                  resume: bool,
                  config: str = TEACHER.config) -> str:
    """Trains the digits teacher once and returns its last checkpoint.

    Args:
        work_dir (str): The comparison's work dir; the teacher trains in
            its ``teacher`` folder.
        seed (int): The teacher's seed.
        budget (Budget): What every training shares; its ``epochs`` are
            the students'.
        teacher_epochs (int, optional): The teacher's epochs. None keeps
            its config's.
        resume (bool): Continue an earlier teacher training in the same
            folder.
        config (str): The teacher's config, relative to ``configs/`` (or
            absolute). Defaults to the digits MoCo-v2 teacher's.

    Returns:
        str: The teacher's final checkpoint.
    """
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, config))
    overrides = training_overrides(cfg, budget)
    overrides.pop('train_cfg.max_epochs', None)
    if teacher_epochs:
        overrides['train_cfg.max_epochs'] = teacher_epochs
    _, checkpoint, _ = train(
        teacher_phase(config), osp.join(work_dir, 'teacher'), seed, False,
        None, overrides, resume)
    return checkpoint


def summarise(runs: Dict[str, List[dict]]) -> Dict[str, dict]:
    """Each metric of each method as values, mean and sample std.

    Args:
        runs (dict): Per method, one result per seed (every key of
            ``COLUMNS``, ``student`` and ``config``).

    Returns:
        dict: Per method, ``student``, ``config`` and per column
        ``values``, ``mean`` and ``std`` (None for one seed).
    """
    return {
        name: dict(
            student=per_seed[0]['student'],
            config=per_seed[0]['config'],
            **summarise_runs(per_seed, COLUMNS))
        for name, per_seed in runs.items()
    }


def format_comparison_table(summary: Dict[str, dict]) -> str:
    """The :func:`summarise` of a comparison as a table, a method a row."""
    return format_table(['method', 'student'],
                        [([name, row['student']], row)
                         for name, row in summary.items()], COLUMNS)


def ranking_notes(summary: Dict[str, dict]) -> List[str]:
    """Says which methods the table does not rank: those within one std.

    Args:
        summary (dict): The output of :func:`summarise`.

    Returns:
        list[str]: A line per metric of ``RANKED_METRICS``; one line for a
        single seed (no std: nothing is ranked); none for a single method.
    """
    if len(summary) < 2:
        return []
    if next(iter(summary.values()))[RANKED_METRICS[0]]['std'] is None:
        return [
            'One seed: no std, so the table ranks no method above another '
            '(3 or more seeds with --seeds for a comparison).'
        ]
    titles = {metric: title for metric, title, _ in COLUMNS}
    notes = []
    for metric in RANKED_METRICS:
        pairs = unranked_pairs(summary, metric)
        if pairs:
            notes.append(f'Not ranked on {titles[metric]}, within one std '
                         'of each other: ' +
                         '; '.join(f'{a} and {b}' for a, b in pairs) + '.')
        else:
            notes.append(f'On {titles[metric]}, every two methods differ by '
                         'more than one std.')
    return notes


def compare_methods(configs: List[str],
                    skipped: List[str],
                    work_dir: str,
                    seeds: List[int],
                    budget: Budget,
                    teacher: Optional[str] = None,
                    teacher_epochs: Optional[int] = None,
                    quick_eval: bool = False,
                    resume: bool = False,
                    teacher_config: str = TEACHER.config) -> None:
    """Trains the teacher and every method, evaluates, writes the table.

    Args:
        configs (list[str]): The methods' configs (from
            :func:`resolve_configs`).
        skipped (list[str]): The errors of the patterns that matched no
            config, noted in the results.
        work_dir (str): The folder of every training and the results.
        seeds (list[int]): One run of every method per seed.
        budget (Budget): What every training shares.
        teacher (str, optional): The teacher checkpoint. Defaults to None:
            the teacher is trained once first, with the first seed.
        teacher_epochs (int, optional): Epochs of the teacher when it is
            trained. Defaults to None: its config's.
        quick_eval (bool): Evaluate on the few images of the digits demo's
            ``--quick``. Defaults to False.
        resume (bool): Continue every training of an earlier comparison in
            ``work_dir`` from its newest intact checkpoint; finished ones
            are only loaded. Defaults to False.
        teacher_config (str): The teacher's config, relative to
            ``configs/`` (or absolute): the one trained without
            ``teacher``, and the teacher model of the cosine column. The
            methods' configs must distil from a teacher of its
            architecture. Defaults to the digits MoCo-v2 teacher's.
    """
    teacher_checkpoint = teacher or train_teacher(
        work_dir, seeds[0], budget, teacher_epochs, resume, teacher_config)
    teacher_model = teacher_for_evaluation(teacher_checkpoint, teacher_config)
    loaders = build_eval_loaders(quick_eval)
    names = method_names(configs)
    runs: Dict[str, List[dict]] = {name: [] for name in names.values()}
    for seed in seeds:
        models, seconds = {TEACHER.name: teacher_model}, {}
        for config, name in names.items():
            models[name], seconds[name] = train_method(
                config, name, seed, work_dir, budget, teacher_checkpoint,
                resume)
        print(
            f'[compare_methods] seed {seed}: evaluating {len(names)} '
            'students on frozen features',
            flush=True)
        results, _ = evaluate(models, loaders)
        for config, name in names.items():
            runs[name].append(
                dict(
                    results[name],
                    seconds_per_epoch=seconds[name],
                    student=describe_student(models[name]),
                    config=osp.relpath(config, CONFIG_ROOT)))
    summary = summarise(runs)
    table = format_comparison_table(summary)
    epochs = budget.epochs or 'those of each config'
    notes = [
        f'Seeds: {seeds}. Teacher: {teacher_checkpoint} (config '
        f'{teacher_config}). Epochs: '
        f'{epochs}. Held-out images: '
        f'{len(loaders["test"].dataset)}.',
        'Train time / epoch: wall time of the whole training run (start-up '
        'included) over its epochs; a resumed training counts the epochs '
        'it trained after its resume, one that had finished has none '
        '(n/a). Evaluation as tools/digits_demo.py: '
        'linear probe and kNN on the pooled backbone feature, cosine of the '
        'final embeddings.', *ranking_notes(summary), *skipped
    ]
    with open(osp.join(work_dir, 'results.md'), 'w') as report:
        report.write('\n\n'.join([
            '# Methods on digits from one teacher', table, *notes,
            f'Command: python {" ".join(sys.argv)}'
        ]) + '\n')
    with open(osp.join(work_dir, 'results.json'), 'w') as record:
        json.dump(
            dict(
                seeds=seeds,
                epochs=budget.epochs,
                teacher=teacher_checkpoint,
                teacher_config=teacher_config,
                skipped=skipped,
                methods=summary),
            record,
            indent=2)
    print('\n' + table + '\n\n' + '\n'.join(notes))
    print(f'Results written to {work_dir}/results.md and results.json')
