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

The protocol is :mod:`disco_mm.apis.digits_demo`.

Example:
    python tools/digits_demo.py
    python tools/digits_demo.py --work-dir work_dirs/digits_demo --seeds 0 1 2
    python tools/digits_demo.py --quick  # 1 epoch, few images: a smoke test
"""
import argparse

# Importing disco_mm applies its fixes (e.g. `mmpretrain::` bases) and
# registers its components before any config loads.
from disco_mm.apis import keep_freed_cpu_memory
from disco_mm.apis.digits_demo import run_demo


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


def main() -> None:
    """Runs every seed, then writes and prints the results."""
    args = parse_args()
    keep_freed_cpu_memory()
    run_demo(args.work_dir, args.seeds, args.quick)


if __name__ == '__main__':
    main()
