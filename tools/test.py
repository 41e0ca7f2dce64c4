"""Evaluates a checkpoint with a config's test loop (mmengine Runner).

Used with evaluation configs (e.g. mmpretrain's linear-eval benchmarks that
load a disco_mm student with ``prefix='backbone.'``).

Example:
    python tools/test.py CONFIG CHECKPOINT --work-dir work_dirs/eval
"""
import argparse

from mmengine.fileio import dump

from disco_mm.apis import add_runner_args, build_runner, load_config


def parse_args() -> argparse.Namespace:
    """Reads the command line (mmpretrain's flags)."""
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='dump the metrics to this file (.json or .pkl)')
    add_runner_args(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args, ['test_dataloader'])
    if cfg.get('test_cfg') is None or cfg.get('test_dataloader') is None:
        raise ValueError(
            f'{args.config} has no test_dataloader/test_cfg: pretraining '
            'configs have no test loop; use an evaluation config.')
    cfg.load_from = args.checkpoint
    if args.amp:
        cfg.test_cfg.fp16 = True
    metrics = build_runner(cfg).test()
    if args.out:
        dump(metrics, args.out)


if __name__ == '__main__':
    main()
