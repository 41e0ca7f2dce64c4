"""The DisCo story on scikit-learn's digits: three trainings and a table.

Per seed, three trainings run through the mmengine Runner from their config
files, each in its own work dir: a MoCo-v2 teacher (ResNet-18, half width),
a MoCo-v2-only student (ResNet-18, quarter width: the baseline) and a DisCo
student of the same size distilled from that teacher's final checkpoint.
With the untrained student as a reference row, they are evaluated on frozen
features of the held-out split (:func:`~disco_mm.apis.experiments.evaluate`).
The table (mean +- std over seeds) goes to the console, ``results.md`` and
``results.json`` in the work dir, with the wall time of every phase; the
first seed's embeddings and training curves are drawn next to them.
"""
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Tuple

from ..evaluation.pictures import (EmbeddingPanel, draw_embedding_maps,
                                   draw_training_curves)
from .experiments import (KNN_NEIGHBOURS, KNN_TEMPERATURE, METRIC_COLUMNS,
                          PROBE_INVERSE_REGULARIZATION, PROBE_MAX_ITER,
                          TEACHER, Features, Loaders, Phase,
                          build_eval_loaders, evaluate, format_table,
                          summarise_runs, train)

#: The pictures written next to the table, for the first seed.
EMBEDDINGS_PICTURE = 'embeddings.png'
CURVES_PICTURE = 'training_curves.png'

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
#: The demo's phases, in training order and as the table's rows.
PHASES = (TEACHER, MOCOV2_STUDENT, DISCO_STUDENT, UNTRAINED_STUDENT)


def phase_dir(work_dir: str, seed: int, phase: Phase) -> str:
    """The work dir of one phase of one seed."""
    return osp.join(work_dir, f'seed_{seed}', phase.name)


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
        per_seed (list[dict]): The results of
            :func:`~disco_mm.apis.experiments.evaluate`, one per seed.

    Returns:
        dict: Per phase name, ``title``, ``params`` and per metric
        ``values``, ``mean`` and ``std`` (sample std; None for one seed).
    """
    summary = {}
    for phase in PHASES:
        runs = [results[phase.name] for results in per_seed]
        summary[phase.name] = dict(
            title=phase.title,
            params=runs[0]['params'],
            **summarise_runs(runs, METRIC_COLUMNS))
    return summary


def format_demo_table(summary: Dict[str, dict]) -> str:
    """Writes the summary as a markdown table, one model per row.

    Args:
        summary (dict): The output of :func:`summarise`.

    Returns:
        str: The table; a cell is the mean, ``+- std`` over two or more
        seeds.
    """
    return format_table(['model', 'params'],
                        [([row['title'], f'{row["params"]:,}'], row)
                         for row in summary.values()], METRIC_COLUMNS)


def format_report(table: str, seeds: List[int], epochs: Dict[str, int],
                  loaders: Loaders, wall_times: Dict[str, float],
                  quick: bool) -> str:
    """Writes results.md: the table and how it was made.

    Args:
        table (str): The output of :func:`format_demo_table`.
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


def write_results(work_dir: str, seeds: List[int], quick: bool,
                  summary: Dict[str, dict], table: str,
                  epochs: Dict[str, int], loaders: Loaders,
                  wall_times: Dict[str, float]) -> None:
    """Writes results.md and results.json into the work dir.

    Args:
        work_dir (str): The demo's work dir.
        seeds (list[int]): The seeds the results cover.
        quick (bool): Whether the ``--quick`` settings were used.
        summary (dict): The output of :func:`summarise`.
        table (str): The output of :func:`format_demo_table`.
        epochs (dict): Training epochs by phase name.
        loaders (dict): The evaluation loaders.
        wall_times (dict): Seconds per phase and in total.
    """
    with open(osp.join(work_dir, 'results.md'), 'w') as report:
        report.write(
            format_report(table, seeds, epochs, loaders, wall_times, quick))
    record = dict(
        seeds=seeds,
        quick=quick,
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
    with open(osp.join(work_dir, 'results.json'), 'w') as record_file:
        json.dump(record, record_file, indent=2)


def run_demo(work_dir: str, seeds: List[int], quick: bool) -> None:
    """Runs every seed, then writes and prints the results.

    Args:
        work_dir (str): Folder for the trainings and the results.
        seeds (list[int]): One run of the three trainings per seed.
        quick (bool): One epoch on a few images: checks the flow, not the
            method.
    """
    started = time.perf_counter()
    os.makedirs(work_dir, exist_ok=True)
    phase_names = [phase.name for phase in PHASES]
    wall_times = dict.fromkeys(phase_names + ['evaluation', 'pictures'], 0.0)
    loaders = build_eval_loaders(quick)
    per_seed = []
    for seed in seeds:
        results, epochs = run_seed(seed, work_dir, quick, loaders, wall_times,
                                   seed == seeds[0])
        per_seed.append(results)
    wall_times['total'] = time.perf_counter() - started
    summary = summarise(per_seed)
    table = format_demo_table(summary)
    write_results(work_dir, seeds, quick, summary, table, epochs, loaders,
                  wall_times)
    print(f'\n{table}\n\nSeeds: {seeds}. Wall time (s): ' +
          ', '.join(f'{name} {seconds:.0f}'
                    for name, seconds in wall_times.items()))
    print(f'Results written to {work_dir}/results.md and results.json, '
          f'pictures to {EMBEDDINGS_PICTURE} and {CURVES_PICTURE}')
