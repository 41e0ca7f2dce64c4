"""Compares a teacher in bf16 / fp16 with the float32 teacher on real data.

Two copies of the config's model, one with the teacher in float32 and one
with ``model.teacher.precision`` lowered, train side by side on the same
batches of the config's training loader. The script prints the cosine of
the two teachers' embeddings (min and mean over every image) and how far
the loss curves drift apart (mean and largest relative gap per loss), and
writes every number as JSON. The protocol is
:mod:`disco_mm.apis.teacher_precision`.

Example:
    python tools/analysis_tools/teacher_precision.py \\
        configs/disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py \\
        --teacher-checkpoint work_dirs/digits_demo/seed_0/teacher/epoch_100.pth \\
        --precision bf16 --steps 50
"""
import argparse
import json
import os.path as osp
from typing import List, Optional

from mmengine.config import Config, DictAction

from disco_mm.apis.teacher_precision import compare_teacher_precision


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='A lower-precision teacher against the float32 one')
    parser.add_argument('config', help='a distillation training config')
    parser.add_argument(
        '--teacher-checkpoint',
        help='sets model.teacher.checkpoint (default: the config\'s)')
    parser.add_argument(
        '--precision', choices=['bf16', 'fp16'], default='bf16')
    parser.add_argument('--steps', type=int, default=50)
    parser.add_argument(
        '--out', default='teacher_precision.json', help='JSON report')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    """Runs the comparison, prints the summary, writes the JSON."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg.merge_from_dict(args.cfg_options)
    if args.teacher_checkpoint:
        cfg.model.teacher.checkpoint = args.teacher_checkpoint
    report = compare_teacher_precision(cfg, args.precision, args.steps)
    print(f'{report["precision"]} teacher against fp32, '
          f'{report["steps"]} steps of {osp.basename(args.config)}:')
    print(f'  embedding cosine over {report["images"]} images: min '
          f'{report["cosine"]["min"]:.6f}, mean {report["cosine"]["mean"]:.6f}')
    for name, gap in report['relative_gap'].items():
        print(f'  {name}: relative gap to fp32 mean {gap["mean"]:.2e}, '
              f'largest {gap["max"]:.2e}')
    with open(args.out, 'w') as record:
        json.dump(report, record, indent=2)
    print(f'Written to {args.out}')


if __name__ == '__main__':
    main()
