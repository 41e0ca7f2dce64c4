"""Weighted kNN evaluation of a checkpoint's frozen features.

The student's backbone (and projector) are built from a config and loaded
from a disco_mm training checkpoint or an exported backbone (only
``backbone.*``: then only pooled features). Frozen features of a labelled
bank set (the training split) and of a query set (the held-out split) are
extracted in eval mode; each query is classified by the cosine-weighted
vote ``exp(cos / T)`` of its ``k`` nearest bank entries. Top-1 (and top-5
with at least 5 classes) is printed for every ``k`` and written as JSON.

The two data sets come from the config (or ``--data-config``):
``eval_train_dataloader`` / ``eval_test_dataloader`` when it has them (as
``configs/_base_/datasets/digits_eval.py``), else an mmpretrain dataset
config's ``train_dataloader`` as bank (its pipeline replaced by the query
loader's, unshuffled) and its ``val_dataloader`` (or ``test_dataloader``) as
queries.

Example:
    python tools/analysis_tools/knn_eval.py \
        configs/disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py \
        work_dirs/digits_demo/seed_0/disco_student/epoch_60.pth --k 10 20 200
    python tools/analysis_tools/knn_eval.py CONFIG student_backbone.pth \
        --data-config mmpretrain::_base_/datasets/imagenet_bs32.py
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import List, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from disco_mm.apis import with_progress
from disco_mm.evaluation import FrozenFeatures, extract_frozen_features
from disco_mm.evaluation.frozen_student import (eval_loader_configs,
                                                frozen_student, read_config)
from disco_mm.evaluation.knn import knn_accuracy


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Weighted kNN top-1/top-5 of a checkpoint\'s frozen '
        'features')
    parser.add_argument('config', help='config of the model (its student)')
    parser.add_argument(
        'checkpoint',
        help='disco_mm training checkpoint or exported backbone')
    parser.add_argument(
        '--data-config',
        help='config with the bank and query loaders (defaults to CONFIG)')
    parser.add_argument(
        '--k',
        type=int,
        nargs='+',
        default=[20],
        help='numbers of neighbours, one result each (default: 20)')
    parser.add_argument(
        '--temperature',
        type=float,
        default=0.07,
        help='temperature of the vote weights exp(cos/T) (default: 0.07)')
    parser.add_argument(
        '--feature',
        choices=['pooled', 'embeddings'],
        default='pooled',
        help='pooled backbone output (default) or L2-normalised projector '
        'output')
    parser.add_argument(
        '--out',
        help='JSON file of the results (default: knn_<checkpoint name>.json '
        'next to the checkpoint)')
    parser.add_argument(
        '--device',
        default='cuda' if torch.cuda.is_available() else 'cpu',
        help='device of the model and the kNN search')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override entries of the config and the data config, e.g. '
        'eval_train_dataloader.batch_size=512')
    return parser.parse_args()


def load_configs(args: argparse.Namespace) -> Tuple[Config, Config]:
    """Reads the model config and the data config, with the overrides."""
    configs = []
    for path in (args.config, args.data_config or args.config):
        cfg = read_config(path)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        configs.append(cfg)
    return configs[0], configs[1]


def evaluate(bank: FrozenFeatures, query: FrozenFeatures, feature: str,
             neighbours: List[int], temperature: float,
             device: str) -> List[dict]:
    """Top-1 (and top-5) of the weighted kNN vote for every ``k``.

    Args:
        bank (FrozenFeatures): Features of the labelled bank.
        query (FrozenFeatures): Features of the queries.
        feature (str): ``'pooled'`` or ``'embeddings'``.
        neighbours (list[int]): The values of ``k``.
        temperature (float): Temperature of the vote weights.
        device (str): Where the similarities are computed.

    Returns:
        list[dict]: Per ``k``: ``k``, ``top1`` and, with at least 5 classes,
        ``top5``, in percent.
    """
    num_classes = int(max(bank.labels.max(), query.labels.max())) + 1
    topk = (1, 5) if num_classes >= 5 else (1, )
    tensors = [
        getattr(bank, feature), bank.labels,
        getattr(query, feature), query.labels
    ]
    tensors = [tensor.to(device) for tensor in tensors]
    results = []
    for k in neighbours:
        accuracy = knn_accuracy(*tensors, k, temperature, topk)
        results.append(
            dict(k=k, **{f'top{n}': value
                         for n, value in accuracy.items()}))
    return results


def main() -> None:
    """Extracts the features, runs the kNN vote and reports it."""
    args = parse_args()
    started = time.perf_counter()
    cfg, data_cfg = load_configs(args)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    loaders = {
        name: Runner.build_dataloader(loader_cfg)
        for name, loader_cfg in eval_loader_configs(
            data_cfg, args.data_config or args.config).items()
    }
    student = frozen_student(cfg, args.checkpoint, args.feature, args.device)
    features = {
        name: extract_frozen_features(student, with_progress(loader, name))
        for name, loader in loaders.items()
    }
    results = evaluate(features['bank'], features['query'], args.feature,
                       args.k, args.temperature, args.device)
    for result in results:
        print(f'kNN k={result["k"]:<4d} T={args.temperature}: top-1 '
              f'{result["top1"]:.2f}%' + (f', top-5 {result["top5"]:.2f}%'
                                          if 'top5' in result else ''))
    out = args.out or osp.join(
        osp.dirname(osp.abspath(args.checkpoint)),
        f'knn_{osp.splitext(osp.basename(args.checkpoint))[0]}.json')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    record = dict(
        config=args.config,
        data_config=args.data_config or args.config,
        checkpoint=args.checkpoint,
        feature=args.feature,
        temperature=args.temperature,
        bank_images=len(features['bank'].labels),
        query_images=len(features['query'].labels),
        results=results,
        wall_time_s=time.perf_counter() - started)
    with open(out, 'w') as file:
        json.dump(record, file, indent=2)
    print(f'Results written to {out}')


if __name__ == '__main__':
    main()
