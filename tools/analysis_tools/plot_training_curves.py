"""Contrastive loss, distillation loss and kNN top-1 over epochs, one PNG.

Reads the ``<timestamp>/vis_data/scalars.json`` files of mmengine work dirs:
the losses are the per-epoch means of the logged training values (each a
running mean over the LoggerHook's window), ``knn_top1`` is what
KnnMonitorHook logged. One line per run.

Example:
    python tools/analysis_tools/plot_training_curves.py \
        'MoCo-v2 student=work_dirs/digits_demo/seed_0/mocov2_student' \
        'DisCo student=work_dirs/digits_demo/seed_0/disco_student' \
        --out training_curves.png
"""
import argparse

from disco_mm.evaluation.pictures import draw_training_curves


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Training curves of mmengine runs from their logs')
    parser.add_argument(
        'runs',
        nargs='+',
        metavar='[NAME=]WORK_DIR',
        help='work dirs of the runs, each optionally named for the legend')
    parser.add_argument(
        '--out', default='training_curves.png', help='the PNG')
    return parser.parse_args()


def main() -> None:
    """Reads the logs and draws the curves."""
    args = parse_args()
    runs = {}
    for run in args.runs:
        name, _, work_dir = run.rpartition('=')
        runs[name or work_dir] = work_dir
    draw_training_curves(runs, args.out)
    print(f'Curves of {len(runs)} runs written to {args.out}')


if __name__ == '__main__':
    main()
