"""Runs the whole DisCo story on scikit-learn's digits and evaluates it.

Per seed, three trainings run through the mmengine Runner from their config
files, each in its own work dir:

1. a MoCo-v2 teacher (ResNet-18, half width),
2. a MoCo-v2-only student (ResNet-18, quarter width): the baseline,
3. a DisCo student of the same size, distilled from that teacher's final
   checkpoint.

The students' configs log their weighted-kNN top-1 on the held-out split
every 10 epochs while they train (KnnMonitorHook). The three are then
evaluated on frozen features of the held-out split: linear-probe and
weighted-kNN top-1 on the pooled backbone output, and the mean cosine
between each model's final embedding and the teacher's. The table (mean +-
std over seeds) goes to the console, ``results.md`` and ``results.json`` in
the work dir, with the wall time of every phase. Next to them, for the first
seed: ``embeddings.png`` (t-SNE maps of the held-out embeddings of teacher,
MoCo-v2 student and DisCo student) and ``training_curves.png`` (contrastive
loss, distillation loss and online kNN top-1 over epochs).

The console shows each phase and its progress bar (count, ETA) and the
table; what the Runner prints (environment, config dump, the losses of every
iteration, the online kNN top-1) goes to ``console.log`` in the phase's work
dir, next to the Runner's own log.

Example:
    python tools/digits_demo.py
    python tools/digits_demo.py --work-dir work_dirs/digits_demo --seeds 0 1 2
    python tools/digits_demo.py --quick  # 1 epoch, few images: a smoke test
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed
from mmengine.utils import ProgressBar
from mmpretrain.registry import MODELS
from torch import nn
from torch.utils.data import DataLoader

# Importing disco_mm applies its fixes (e.g. `mmpretrain::` bases) and
# registers its components before any config loads.
from disco_mm.apis import keep_freed_cpu_memory, train_with_progress
from disco_mm.evaluation import (FrozenFeatures, extract_frozen_features,
                                 knn_top1, linear_probe_top1,
                                 mean_embedding_cosine)
from disco_mm.evaluation.pictures import (EmbeddingPanel, draw_embedding_maps,
                                          draw_training_curves)

CONFIG_ROOT = osp.join(
    osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs')
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

#: Where a phase's Runner output goes, in the phase's work dir.
CONSOLE_LOG = 'console.log'

#: The pictures written next to the table, for the first seed.
EMBEDDINGS_PICTURE = 'embeddings.png'
CURVES_PICTURE = 'training_curves.png'

#: The evaluation data loaders by split, ``'train'`` and ``'test'``.
Loaders = Dict[str, DataLoader]

#: The table's metric columns: key in the results, title, number format.
METRIC_COLUMNS = (
    ('linear_top1', 'linear top-1 (%)', '{:.2f}'),
    ('knn_top1', 'kNN top-1 (%)', '{:.2f}'),
    ('teacher_cosine', 'teacher-student cosine', '{:.3f}'),
)


@dataclass(frozen=True)
class Phase:
    """One training of the demo and its row in the table.

    Attributes:
        name (str): Key of the phase in work dirs and results.json.
        title (str): The model's name in the table.
        config (str): Its config, relative to ``configs/``.
        trained (bool): False for a reference row: the config's model as
            initialised, never trained.
    """

    name: str
    title: str
    config: str
    trained: bool = True


TEACHER = Phase('teacher', 'MoCo-v2 teacher (ResNet-18 w32)',
                'mocov2/mocov2_resnet18-w32_1xb64-coslr-100e_digits.py')
MOCOV2_STUDENT = Phase(
    'mocov2_student', 'MoCo-v2 student (ResNet-18 w16)',
    'mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py')
DISCO_STUDENT = Phase(
    'disco_student', 'DisCo student (ResNet-18 w16)',
    'disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py')
UNTRAINED_STUDENT = Phase(
    'untrained_student', 'untrained student (reference, ResNet-18 w16)',
    'mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py',
    trained=False)
PHASES = (TEACHER, MOCOV2_STUDENT, DISCO_STUDENT, UNTRAINED_STUDENT)


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Train a MoCo-v2 teacher, a MoCo-v2 student and a DisCo '
        'student on digits, then evaluate them on frozen features.')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/digits_demo',
        help='folder for the trainings and the results')
    parser.add_argument(
        '--seeds',
        type=int,
        nargs='+',
        default=[0],
        help='one run of the three trainings per seed (>= 3 seeds for an '
        'accuracy comparison)')
    parser.add_argument(
        '--quick',
        action='store_true',
        help='one epoch on a few images: checks the flow, not the method')
    return parser.parse_args()


def phase_dir(work_dir: str, seed: int, phase: Phase) -> str:
    """The work dir of one phase of one seed."""
    return osp.join(work_dir, f'seed_{seed}', phase.name)


def train(phase: Phase,
          work_dir: str,
          seed: int,
          quick: bool,
          teacher_checkpoint: Optional[str],
          overrides: Optional[dict] = None) -> Tuple[nn.Module, str, int]:
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

    Returns:
        tuple: The trained model, its final checkpoint and its epochs.
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
    cfg.experiment_name = f'{phase.name}_seed{seed}'
    if not phase.trained:
        set_random_seed(seed)
        init_default_scope('mmpretrain')
        model = MODELS.build(cfg.model)
        model.init_weights()
        return model, None, 0
    log_file = osp.join(work_dir, CONSOLE_LOG)
    print(
        f'[digits_demo] seed {seed}: training {phase.title} for '
        f'{cfg.train_cfg.max_epochs} epochs (log: {log_file})',
        flush=True)
    model = train_with_progress(cfg, log_file)
    with open(osp.join(work_dir, 'last_checkpoint')) as pointer:
        # relative to the work dir (absolute when written by mmengine)
        checkpoint = osp.join(work_dir, pointer.read().strip())
    return model, checkpoint, cfg.train_cfg.max_epochs


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


#: Frozen features by phase name and split.
Features = Dict[str, Dict[str, FrozenFeatures]]


def evaluate(models: Dict[str, nn.Module],
             loaders: Loaders) -> Tuple[Dict[str, dict], Features]:
    """Evaluates every model of one seed on frozen features.

    Args:
        models (dict): Trained models by phase name, the teacher included.
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
        results[name] = dict(
            params=sum(param.numel() for param in model.backbone.parameters()),
            linear_top1=linear_probe_top1(fit.pooled, fit.labels,
                                          held_out.pooled, held_out.labels,
                                          PROBE_INVERSE_REGULARIZATION,
                                          PROBE_MAX_ITER),
            knn_top1=knn_top1(fit.pooled, fit.labels, held_out.pooled,
                              held_out.labels, KNN_NEIGHBOURS,
                              KNN_TEMPERATURE),
            teacher_cosine=mean_embedding_cosine(held_out.embeddings,
                                                 teacher_embeddings))
    return results, features


def draw_pictures(work_dir: str, seed: int, features: Features) -> None:
    """Writes embeddings.png and training_curves.png of one seed.

    Args:
        work_dir (str): The demo's work dir, where the pictures go.
        seed (int): The seed pictured.
        features (dict): The seed's frozen features by phase and split.
    """
    trained = [phase for phase in PHASES if phase.trained]
    draw_embedding_maps([
        EmbeddingPanel(phase.title, features[phase.name]['test'].embeddings,
                       features[phase.name]['test'].labels)
        for phase in trained
    ], osp.join(work_dir, EMBEDDINGS_PICTURE))
    draw_training_curves(
        {phase.title: phase_dir(work_dir, seed, phase)
         for phase in trained}, osp.join(work_dir, CURVES_PICTURE))


def run_seed(seed: int, work_dir: str, quick: bool, loaders: Loaders,
             wall_times: Dict[str, float],
             pictures: bool) -> Tuple[Dict[str, dict], dict]:
    """Trains the three models of one seed and evaluates them.

    Args:
        seed (int): The seed of all three trainings.
        work_dir (str): The demo's work dir; the seed gets a sub folder.
        quick (bool): Use the ``--quick`` overrides.
        loaders (dict): The evaluation loaders.
        wall_times (dict): Seconds per phase; this seed's are added.
        pictures (bool): Also draw this seed's pictures.

    Returns:
        tuple: The evaluation results by phase name and the epochs by phase
        name.
    """
    models, epochs, teacher_checkpoint = {}, {}, None
    for phase in PHASES:
        started = time.perf_counter()
        models[phase.name], checkpoint, epochs[phase.name] = train(
            phase, phase_dir(work_dir, seed, phase), seed, quick,
            teacher_checkpoint)
        wall_times[phase.name] += time.perf_counter() - started
        if phase is TEACHER:
            teacher_checkpoint = checkpoint
    started = time.perf_counter()
    print(
        f'[digits_demo] seed {seed}: evaluating {len(models)} models on '
        f'frozen features of {len(loaders["train"].dataset)} + '
        f'{len(loaders["test"].dataset)} images',
        flush=True)
    results, features = evaluate(models, loaders)
    wall_times['evaluation'] += time.perf_counter() - started
    if pictures:
        started = time.perf_counter()
        print(
            f'[digits_demo] seed {seed}: drawing {EMBEDDINGS_PICTURE} '
            f'(t-SNE) and {CURVES_PICTURE}',
            flush=True)
        draw_pictures(work_dir, seed, features)
        wall_times['pictures'] += time.perf_counter() - started
    return results, epochs


def summarise(per_seed: List[Dict[str, dict]]) -> Dict[str, dict]:
    """Collects each metric over seeds as its values, mean and std.

    Args:
        per_seed (list[dict]): The results of :func:`evaluate`, one per seed.

    Returns:
        dict: Per phase name, ``params`` and per metric ``values``,
        ``mean`` and ``std`` (sample std; None for one seed).
    """
    summary = {}
    for phase in PHASES:
        runs = [results[phase.name] for results in per_seed]
        summary[phase.name] = dict(title=phase.title, params=runs[0]['params'])
        for metric, _, _ in METRIC_COLUMNS:
            values = [run[metric] for run in runs]
            summary[phase.name][metric] = dict(
                values=values,
                mean=statistics.fmean(values),
                std=statistics.stdev(values) if len(values) > 1 else None)
    return summary


def format_table(summary: Dict[str, dict], num_seeds: int) -> str:
    """Writes the summary as a markdown table.

    Args:
        summary (dict): The output of :func:`summarise`.
        num_seeds (int): How many seeds the summary covers.

    Returns:
        str: The table, one model per row.
    """
    header = ['model', 'params'] + [title for _, title, _ in METRIC_COLUMNS]
    lines = ['| ' + ' | '.join(header) + ' |', '|---' * len(header) + '|']
    for phase in PHASES:
        row = summary[phase.name]
        cells = [row['title'], f'{row["params"]:,}']
        for metric, _, number in METRIC_COLUMNS:
            cell = number.format(row[metric]['mean'])
            if num_seeds > 1:
                cell += ' +- ' + number.format(row[metric]['std'])
            cells.append(cell)
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def format_report(table: str, seeds: List[int], epochs: Dict[str, int],
                  loaders: Loaders, wall_times: Dict[str, float],
                  quick: bool) -> str:
    """Writes results.md: the table and how it was made.

    Args:
        table (str): The output of :func:`format_table`.
        seeds (list[int]): The seeds the table covers.
        epochs (dict): Training epochs by phase name.
        loaders (dict): The evaluation loaders (for the split sizes).
        wall_times (dict): Seconds per phase and in total.
        quick (bool): Whether the ``--quick`` settings were used.

    Returns:
        str: The markdown report.
    """
    seed_note = (f'{len(seeds)} seed{"s" if len(seeds) > 1 else ""} '
                 f'({", ".join(map(str, seeds))})')
    if len(seeds) > 1:
        seed_note += '; cells are mean +- sample std over seeds'
    else:
        seed_note += '; one run, not enough for an accuracy comparison'
    times = ', '.join(f'{name} {seconds:.0f} s'
                      for name, seconds in wall_times.items())
    return '\n'.join([
        '# DisCo on scikit-learn digits: frozen-feature evaluation', '',
        f'Seeds: {seed_note}.' +
        (' Quick smoke-test settings.' if quick else ''), '', table, '',
        f'- Held-out split: {len(loaders["test"].dataset)} images; probe and '
        f'kNN bank: the {len(loaders["train"].dataset)} training images, one '
        'plain 32 px view, models in eval mode.',
        '- Features: globally average-pooled backbone output. Linear probe: '
        'standardised features, logistic regression '
        f'C={PROBE_INVERSE_REGULARIZATION}, max_iter={PROBE_MAX_ITER}. kNN: '
        f'cosine, k={KNN_NEIGHBOURS}, T={KNN_TEMPERATURE}, votes '
        'exp(sim/T).',
        '- Teacher-student cosine: mean over held-out images of the cosine '
        'between the final L2-normalised embeddings of model and teacher.',
        '- Params: backbone parameters (what is deployed).',
        f'- Pictures (seed {seeds[0]}): {EMBEDDINGS_PICTURE}, t-SNE maps of '
        'the held-out embeddings; ' + CURVES_PICTURE + ', contrastive and '
        'distillation loss (epoch means of the logged values) and the '
        'students\' online kNN top-1 (KnnMonitorHook: same kNN settings and '
        'images) over epochs.',
        '- Epochs: ' + ', '.join(f'{name} {count}'
                                 for name, count in epochs.items()) + '.',
        f'- Wall time: {times}.', f'- Command: python {" ".join(sys.argv)}', ''
    ])


def write_results(args: argparse.Namespace, summary: Dict[str, dict],
                  table: str, epochs: Dict[str, int], loaders: Loaders,
                  wall_times: Dict[str, float]) -> None:
    """Writes results.md and results.json into the work dir.

    Args:
        args (argparse.Namespace): The demo's command line.
        summary (dict): The output of :func:`summarise`.
        table (str): The output of :func:`format_table`.
        epochs (dict): Training epochs by phase name.
        loaders (dict): The evaluation loaders.
        wall_times (dict): Seconds per phase and in total.
    """
    with open(osp.join(args.work_dir, 'results.md'), 'w') as report:
        report.write(
            format_report(table, args.seeds, epochs, loaders, wall_times,
                          args.quick))
    record = dict(
        seeds=args.seeds,
        quick=args.quick,
        epochs=epochs,
        eval_images={
            split: len(loader.dataset)
            for split, loader in loaders.items()
        },
        settings=dict(
            knn_neighbours=KNN_NEIGHBOURS,
            knn_temperature=KNN_TEMPERATURE,
            probe_inverse_regularization=PROBE_INVERSE_REGULARIZATION,
            probe_max_iter=PROBE_MAX_ITER),
        models=summary,
        wall_time_s=wall_times)
    with open(osp.join(args.work_dir, 'results.json'), 'w') as record_file:
        json.dump(record, record_file, indent=2)


def main() -> None:
    """Runs every seed, then writes and prints the results."""
    started = time.perf_counter()
    args = parse_args()
    keep_freed_cpu_memory()
    os.makedirs(args.work_dir, exist_ok=True)
    phase_names = [phase.name for phase in PHASES]
    wall_times = dict.fromkeys(phase_names + ['evaluation', 'pictures'], 0.0)
    loaders = build_eval_loaders(args.quick)
    per_seed = []
    for seed in args.seeds:
        results, epochs = run_seed(seed, args.work_dir, args.quick, loaders,
                                   wall_times, seed == args.seeds[0])
        per_seed.append(results)
    wall_times['total'] = time.perf_counter() - started
    summary = summarise(per_seed)
    table = format_table(summary, len(args.seeds))
    write_results(args, summary, table, epochs, loaders, wall_times)
    print(f'\n{table}\n\nSeeds: {args.seeds}. Wall time (s): ' +
          ', '.join(f'{name} {seconds:.0f}'
                    for name, seconds in wall_times.items()))
    print(f'Results written to {args.work_dir}/results.md and results.json, '
          f'pictures to {EMBEDDINGS_PICTURE} and {CURVES_PICTURE}')


if __name__ == '__main__':
    main()
