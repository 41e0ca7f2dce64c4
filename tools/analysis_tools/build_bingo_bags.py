"""Writes BINGO's bags: each training image's nearest neighbours.

The frozen teacher of a BINGO config (``model.teacher``, loaded from the
given checkpoint) embeds every image of the config's training set, seen
through the config's ``bag_pipeline`` (one plain view). For each image the
``k`` other images of highest cosine similarity form its bag; the ``N x k``
indices (rows in data-set order, nearest first) are saved with numpy to
``train_dataloader.dataset.bag_file`` of the config, or ``--out``. The work
is :func:`disco_mm.apis.bingo_bags.build_bags`.

Example:
    python tools/analysis_tools/build_bingo_bags.py \\
        configs/bingo/bingo_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py \\
        work_dirs/mocov2_resnet18-w32_1xb64-coslr-100e_digits/epoch_100.pth
"""
import argparse

from mmengine.config import Config, DictAction

# Importing disco_mm registers its components before any config is built.
from disco_mm.apis.bingo_bags import build_bags


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Write the k-nearest-neighbour bags of a BINGO config.')
    parser.add_argument('config', help='BINGO training config')
    parser.add_argument('checkpoint', help='teacher checkpoint')
    parser.add_argument(
        '--out', help='bag file (default: train_dataloader.dataset.bag_file)')
    parser.add_argument(
        '--k', type=int, help='bag size (default: the config\'s bag_size)')
    parser.add_argument(
        '--feature',
        choices=('pooled', 'embedding'),
        default='pooled',
        help='teacher feature compared: the pooled backbone output (as the '
        'official bags) or the final embedding')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. '
        'train_dataloader.dataset.dataset.indices=100')
    return parser.parse_args()


def main() -> None:
    """Builds the bags and says where they are."""
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out = build_bags(cfg, args.checkpoint, args.out, args.k, args.feature)
    print(f'Bags written to {out}')


if __name__ == '__main__':
    main()
