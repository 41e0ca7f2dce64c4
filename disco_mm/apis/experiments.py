"""The digits protocol: trainings, frozen-feature evaluation, seed summary.

What ``tools/digits_demo.py`` and ``tools/analysis_tools/compare_methods.py``
share: a training run through the mmengine Runner from a config of the
repository (its ``--quick`` overrides included), the single-view loaders of
both digits splits, the evaluation of trained models on their frozen
features (linear probe, weighted kNN, cosine to the teacher's embedding)
and the summary of each metric over seeds as a markdown table.
"""
import os.path as osp
import statistics
import sys
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from mmengine.utils import ProgressBar
from mmpretrain.registry import MODELS
from torch import nn
from torch.utils.data import DataLoader

from ..evaluation import (FrozenFeatures, extract_frozen_features, knn_top1,
                          linear_probe_top1, mean_embedding_cosine)
from .progress import train_with_progress

#: The repository's ``configs/`` folder (the package is installed from its
#: checkout in editable mode, as ``tools/setup_env.sh`` does).
CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')
EVAL_CONFIG = osp.join(CONFIG_ROOT, '_base_/datasets/digits_eval.py')

#: Settings of the frozen-feature evaluation, fixed before any run.
KNN_NEIGHBOURS = 20
KNN_TEMPERATURE = 0.07
PROBE_INVERSE_REGULARIZATION = 1.0
PROBE_MAX_ITER = 1000

#: ``--quick``: one epoch on two batches, evaluation on a few images.
QUICK_EVAL_IMAGES = dict(train=200, test=100)
QUICK_TRAINING_OVERRIDES = {
    'train_cfg.max_epochs': 1,
    'train_dataloader.dataset.indices': 128,
    'train_dataloader.num_workers': 0,
    'train_dataloader.persistent_workers': False,
}
#: ``--quick`` for configs with the online kNN monitor: after the one epoch,
#: on the few evaluation images.
QUICK_MONITOR_OVERRIDES = {
    'custom_hooks.0.interval': 1,
    'custom_hooks.0.bank_dataloader.dataset.indices':
    QUICK_EVAL_IMAGES['train'],
    'custom_hooks.0.query_dataloader.dataset.indices':
    QUICK_EVAL_IMAGES['test'],
}

#: Where a training's Runner output goes, in its work dir.
CONSOLE_LOG = 'console.log'

#: The evaluation data loaders by split, ``'train'`` and ``'test'``.
Loaders = Dict[str, DataLoader]
#: Frozen features by phase name and split.
Features = Dict[str, Dict[str, FrozenFeatures]]
#: A table column: key in the results, title, number format.
Column = Tuple[str, str, str]

#: The metrics :func:`evaluate` computes, as table columns.
METRIC_COLUMNS: Tuple[Column, ...] = (
    ('linear_top1', 'linear top-1 (%)', '{:.2f}'),
    ('knn_top1', 'kNN top-1 (%)', '{:.2f}'),
    ('teacher_cosine', 'teacher-student cosine', '{:.3f}'),
)


@dataclass(frozen=True)
class Phase:
    """One training of an experiment and its row in the table.

    Attributes:
        name (str): Key of the phase in work dirs and results.json.
        title (str): The model's name in the table.
        config (str): Its config, relative to ``configs/`` (or absolute).
        trained (bool): False for a reference row: the config's model as
            initialised, never trained. Defaults to True.
    """

    name: str
    title: str
    config: str
    trained: bool = True


#: The digits MoCo-v2 teacher every student is distilled from.
TEACHER = Phase('teacher', 'MoCo-v2 teacher (ResNet-18 w32)',
                'mocov2/mocov2_resnet18-w32_1xb64-coslr-100e_digits.py')


def train(phase: Phase,
          work_dir: str,
          seed: int,
          quick: bool,
          teacher_checkpoint: Optional[str],
          overrides: Optional[dict] = None,
          resume: bool = False) -> Tuple[nn.Module, str, int]:
    """Trains one phase through the mmengine Runner.

    Args:
        phase (Phase): What to train.
        work_dir (str): The phase's work dir.
        seed (int): ``randomness.seed`` of the run.
        quick (bool): Use the ``--quick`` overrides.
        teacher_checkpoint (str, optional): The teacher's final checkpoint,
            set as ``model.teacher.checkpoint`` when the config distils.
        overrides (dict, optional): More config entries to override,
            mmengine style. Defaults to None.
        resume (bool): Continue from the newest intact checkpoint in
            ``work_dir`` (a finished run is only loaded). Defaults to False.

    Returns:
        tuple: The trained model, its final checkpoint and the epochs
        trained in this call (for an untrained phase: the initialised
        model, None and 0).
    """
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, phase.config))
    cfg.merge_from_dict({**(overrides or {}), 'randomness.seed': seed})
    if quick:
        cfg.merge_from_dict(QUICK_TRAINING_OVERRIDES)
        if [hook.type for hook in cfg.get('custom_hooks', [])
            ] == ['KnnMonitorHook']:
            cfg.merge_from_dict(QUICK_MONITOR_OVERRIDES)
    if cfg.model.get('teacher'):
        cfg.model.teacher.checkpoint = teacher_checkpoint
    cfg.work_dir = work_dir
    cfg.resume = resume
    cfg.experiment_name = f'{phase.name}_seed{seed}'
    if not phase.trained:
        set_random_seed(seed)
        init_default_scope('mmpretrain')
        model = MODELS.build(cfg.model)
        model.init_weights()
        return model, None, 0
    log_file = osp.join(work_dir, CONSOLE_LOG)
    print(
        f'[digits_demo] seed {seed}: {"resuming" if resume else "training"} '
        f'{phase.title} for {cfg.train_cfg.max_epochs} epochs (log: '
        f'{log_file})',
        flush=True)
    model, epochs = train_with_progress(cfg, log_file)
    with open(osp.join(work_dir, 'last_checkpoint')) as pointer:
        # relative to the work dir (absolute when written by mmengine)
        checkpoint = osp.join(work_dir, pointer.read().strip())
    return model, checkpoint, epochs


def build_eval_loaders(quick: bool) -> Loaders:
    """Builds the single-view loaders of both splits from the eval config.

    Args:
        quick (bool): Take only the first few images of each split.

    Returns:
        dict: ``'train'`` and ``'test'`` data loaders.
    """
    cfg = Config.fromfile(EVAL_CONFIG)
    init_default_scope('mmpretrain')
    loaders = {}
    for split in ('train', 'test'):
        loader_cfg = cfg[f'eval_{split}_dataloader']
        if quick:
            loader_cfg.dataset.indices = QUICK_EVAL_IMAGES[split]
        loaders[split] = Runner.build_dataloader(loader_cfg)
    return loaders


def evaluate(models: Dict[str, nn.Module],
             loaders: Loaders) -> Tuple[Dict[str, dict], Features]:
    """Evaluates every model of one seed on frozen features.

    Args:
        models (dict): Trained models by phase name, the teacher (under
            ``TEACHER.name``) included.
        loaders (dict): ``'train'`` and ``'test'`` evaluation loaders.

    Returns:
        tuple: Per phase name, ``params`` and every metric of
        ``METRIC_COLUMNS``; and the features they were computed on.
    """
    progress = ProgressBar(len(models) * len(loaders), file=sys.stdout)
    features: Features = {}
    for name, model in models.items():
        features[name] = {}
        for split, loader in loaders.items():
            features[name][split] = extract_frozen_features(model, loader)
            progress.update()
    print(flush=True)
    teacher_features = features[TEACHER.name]['test']
    results = {}
    for name, model in models.items():
        fit, held_out = features[name]['train'], features[name]['test']
        # A student distilled from a teacher without projector (SimReg)
        # regresses the teacher's pooled feature.
        own_teacher = getattr(model, 'teacher', None)
        teacher_embeddings = (
            teacher_features.pooled if own_teacher is not None
            and own_teacher.neck is None else teacher_features.embeddings)
        # A student compared with the teacher only through banks of its
        # own (CompRess-2q) may have another width: no cosine then.
        comparable = held_out.embeddings.shape == teacher_embeddings.shape
        results[name] = dict(
            params=sum(param.numel() for param in model.backbone.parameters()),
            linear_top1=linear_probe_top1(fit.pooled, fit.labels,
                                          held_out.pooled, held_out.labels,
                                          PROBE_INVERSE_REGULARIZATION,
                                          PROBE_MAX_ITER),
            knn_top1=knn_top1(fit.pooled, fit.labels, held_out.pooled,
                              held_out.labels, KNN_NEIGHBOURS,
                              KNN_TEMPERATURE),
            teacher_cosine=mean_embedding_cosine(
                held_out.embeddings, teacher_embeddings)
            if comparable else None)
    return results, features


def summarise_runs(runs: Sequence[dict],
                   columns: Iterable[Column]) -> Dict[str, dict]:
    """Collects each column's metric over runs as values, mean and std.

    Args:
        runs (Sequence[dict]): One result per seed, each with every
            column's key.
        columns (Iterable[tuple]): The columns to collect.

    Returns:
        dict: Per column key, ``values``, ``mean`` and ``std`` (sample std;
        None for one run); mean and std are None for a metric that does not
        apply (None in the runs).
    """
    summary = {}
    for metric, _, _ in columns:
        values = [run[metric] for run in runs]
        measured = [value for value in values if value is not None]
        summary[metric] = dict(
            values=values,
            mean=statistics.fmean(measured) if measured else None,
            std=statistics.stdev(measured) if len(measured) > 1 else None)
    return summary


def format_table(header: List[str],
                 rows: Iterable[Tuple[List[str], Dict[str, dict]]],
                 columns: Sequence[Column]) -> str:
    """Writes rows of leading cells and summarised metrics as markdown.

    Args:
        header (list[str]): The titles of the leading cells.
        rows (Iterable[tuple]): Per row, its leading cells and its
            :func:`summarise_runs`.
        columns (Sequence[tuple]): The metric columns after the leading
            cells; a cell is the mean, ``+- std`` where there is one, or
            ``n/a`` for a metric that does not apply.

    Returns:
        str: The table.
    """
    titles = header + [title for _, title, _ in columns]
    lines = ['| ' + ' | '.join(titles) + ' |', '|---' * len(titles) + '|']
    for leading, summary in rows:
        cells = list(leading)
        for metric, _, number in columns:
            if summary[metric]['mean'] is None:
                cells.append('n/a')
                continue
            cell = number.format(summary[metric]['mean'])
            if summary[metric]['std'] is not None:
                cell += ' +- ' + number.format(summary[metric]['std'])
            cells.append(cell)
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def unranked_pairs(summary: Dict[str, dict],
                   metric: str) -> List[Tuple[str, str]]:
    """Finds the pairs of rows too close on a metric to be ranked.

    Two rows are not ranked when their means differ by no more than the
    larger of their two sample stds: each lies within one std of the other.

    Args:
        summary (dict): Per row name, its :func:`summarise_runs` (over two
            or more seeds, so that every std is a number).
        metric (str): The metric compared, e.g. ``'linear_top1'``.

    Returns:
        list[tuple]: The pairs of row names, in the summary's order.
    """
    names = list(summary)
    pairs = []
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            a, b = summary[first][metric], summary[second][metric]
            if abs(a['mean'] - b['mean']) <= max(a['std'], b['std']):
                pairs.append((first, second))
    return pairs
