"""t-SNE maps of several models' embeddings of a labelled set, one PNG.

Each ``--model TITLE CONFIG CHECKPOINT`` (e.g. the teacher, the MoCo-v2-only
student and the DisCo student) gets a panel: the 2-D t-SNE (cosine
distance, PCA start, seed 0) of its L2-normalised projector outputs of the
held-out images, each point coloured by its class. The images come from the
query loader of ``--data-config`` (``eval_test_dataloader``, else
``val_dataloader`` or ``test_dataloader``), its first ``--max-images``.

Example:
    python tools/analysis_tools/visualize_embeddings.py \
        --model 'MoCo-v2 teacher' \
        configs/mocov2/mocov2_resnet18-w32_1xb64-coslr-100e_digits.py T.pth \
        --model 'MoCo-v2 student' \
        configs/mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py M.pth \
        --model 'DisCo student' \
        configs/disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py \
        D.pth --data-config configs/_base_/datasets/digits_eval.py \
        --out embeddings.png
"""
import argparse

from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from disco_mm.apis import with_progress
from disco_mm.evaluation import extract_frozen_features
from disco_mm.evaluation.frozen_student import (eval_loader_configs,
                                                frozen_student, read_config)
from disco_mm.evaluation.pictures import EmbeddingPanel, draw_embedding_maps


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='t-SNE maps of models\' embeddings, coloured by class')
    parser.add_argument(
        '--model',
        nargs=3,
        action='append',
        required=True,
        metavar=('TITLE', 'CONFIG', 'CHECKPOINT'),
        help='a panel: its title, the model\'s config and checkpoint '
        '(repeat for each model)')
    parser.add_argument(
        '--data-config',
        required=True,
        help='config with the labelled loader (e.g. '
        'configs/_base_/datasets/digits_eval.py)')
    parser.add_argument(
        '--feature',
        choices=['pooled', 'embeddings'],
        default='embeddings',
        help='projector output (default) or pooled backbone output')
    parser.add_argument(
        '--max-images',
        type=int,
        default=2000,
        help='map the first N images (t-SNE grows with N^2 in memory)')
    parser.add_argument('--out', default='embeddings.png', help='the PNG')
    return parser.parse_args()


def main() -> None:
    """Extracts each model's embeddings and draws the maps."""
    args = parse_args()
    init_default_scope('mmpretrain')
    loader_cfg = eval_loader_configs(
        read_config(args.data_config), args.data_config)['query']
    loader_cfg.dataset.indices = args.max_images
    loader = Runner.build_dataloader(loader_cfg)
    panels = []
    for title, config, checkpoint in args.model:
        features = extract_frozen_features(
            frozen_student(read_config(config), checkpoint, args.feature),
            with_progress(loader, title))
        panels.append(
            EmbeddingPanel(title, getattr(features, args.feature),
                           features.labels))
    print(f't-SNE of {len(panels)} x {len(loader.dataset)} embeddings',
          flush=True)
    draw_embedding_maps(panels, args.out)
    print(f'{len(panels)} maps of {len(loader.dataset)} images written to '
          f'{args.out}')


if __name__ == '__main__':
    main()
