"""BINGO's bags: each training image's nearest neighbours by the teacher.

The frozen teacher of a BINGO config (``model.teacher``, loaded from the
given checkpoint) embeds every image of the config's training set, seen
through the config's ``bag_pipeline`` (one plain view). For each image the
``k`` other images of highest cosine similarity form its bag; the ``N x k``
indices (rows in data-set order, nearest first) are saved with numpy, where
:class:`~disco_mm.datasets.NeighbourBagDataset` reads them.
"""
import copy
import os
import os.path as osp
import sys
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.utils import track_iter_progress
from mmpretrain.registry import MODELS
from torch import nn

from ..evaluation import extract_frozen_features
from .progress import with_progress

#: Images per batch of the feature extraction.
BATCH_SIZE = 256
#: Rows of the similarity matrix computed at once.
CHUNK_SIZE = 4096


class TeacherFeatureModel(nn.Module):
    """The teacher seen as a model :func:`extract_frozen_features` takes.

    Args:
        teacher (nn.Module): A :class:`FrozenTeacher`.
        data_preprocessor (nn.Module): The preprocessor of the training.
    """

    def __init__(self, teacher: nn.Module,
                 data_preprocessor: nn.Module) -> None:
        super().__init__()
        if teacher.reduced_dtype is not None:
            raise ValueError(
                'TeacherFeatureModel runs the teacher\'s backbone and '
                'projector on float32 images: build the FrozenTeacher with '
                f"precision='fp32', not in {teacher.reduced_dtype}.")
        self.backbone = teacher.backbone
        # Without a projector the embedding is the pooled feature.
        self.neck = (teacher.neck if teacher.neck is not None else
                     MODELS.build(dict(type='GlobalAveragePooling')))
        self.data_preprocessor = data_preprocessor


def nearest_neighbour_bags(features: torch.Tensor, k: int) -> np.ndarray:
    """Returns the ``k`` nearest other rows of each row by cosine.

    Args:
        features (torch.Tensor): NxC features.
        k (int): Bag size, smaller than N.

    Returns:
        np.ndarray: Nxk int64 indices, most similar first; an image is
        never in its own bag.
    """
    if not 0 < k < len(features):
        raise ValueError(
            f'The bag size k={k} must be between 1 and the number of images '
            f'minus one ({len(features) - 1}).')
    unit = F.normalize(features.float(), dim=1)
    starts = range(0, len(unit), CHUNK_SIZE)
    print(f'Finding the {k} nearest neighbours of {len(unit)} images '
          f'({len(starts)} chunks of {CHUNK_SIZE})',
          flush=True)
    bags = []
    for start in track_iter_progress(starts, file=sys.stdout):
        similarity = unit[start:start + CHUNK_SIZE] @ unit.t()
        rows = torch.arange(len(similarity))
        similarity[rows, rows + start] = -float('inf')
        bags.append(similarity.topk(k, dim=1).indices)
    return torch.cat(bags).numpy().astype(np.int64)


def teacher_features(cfg: Config, checkpoint: str,
                     feature: str) -> torch.Tensor:
    """Embeds the config's training images with its frozen teacher.

    Args:
        cfg (Config): A BINGO config (``model.teacher``, ``bag_pipeline``,
            ``train_dataloader.dataset`` wrapping the training set).
        checkpoint (str): The teacher checkpoint.
        feature (str): ``'embedding'`` (the teacher's final L2-normalised
            embedding) or ``'pooled'`` (its pooled backbone feature).

    Returns:
        torch.Tensor: NxC features in data-set order.
    """
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    # float32 on every machine: the same bags wherever they are built
    teacher = MODELS.build(
        dict(cfg.model.teacher, checkpoint=checkpoint, precision='fp32'))
    preprocessor = MODELS.build(
        cfg.model.get('data_preprocessor') or cfg.get('data_preprocessor')
        or dict(type='SelfSupDataPreprocessor'))
    dataset = copy.deepcopy(cfg.train_dataloader.dataset)
    if dataset.type == 'NeighbourBagDataset':
        dataset = dataset.dataset
    dataset.pipeline = cfg.get('bag_pipeline', [dict(type='PackInputs')])
    loader = Runner.build_dataloader(
        dict(
            batch_size=BATCH_SIZE,
            num_workers=cfg.train_dataloader.get('num_workers', 0),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            dataset=dataset))
    features = extract_frozen_features(
        TeacherFeatureModel(teacher, preprocessor),
        with_progress(loader, 'teacher'))
    return features.embeddings if feature == 'embedding' else features.pooled


def build_bags(cfg: Config,
               checkpoint: str,
               out: Optional[str] = None,
               k: Optional[int] = None,
               feature: str = 'pooled') -> str:
    """Builds the bags of a BINGO config and saves them.

    Args:
        cfg (Config): The BINGO config.
        checkpoint (str): The teacher checkpoint.
        out (str, optional): The file to write. Defaults to None: the
            config's ``train_dataloader.dataset.bag_file``.
        k (int, optional): Bag size. Defaults to None: the config's
            ``bag_size``.
        feature (str): The feature compared. Defaults to ``'pooled'``.

    Returns:
        str: The path written.
    """
    out = out or cfg.train_dataloader.dataset.get('bag_file')
    if not out:
        raise ValueError(
            'No output file: pass --out or set train_dataloader.dataset.'
            'bag_file in the config.')
    k = k or cfg.get('bag_size')
    if not k:
        raise ValueError('No bag size: pass --k or set bag_size in the '
                         'config.')
    bags = nearest_neighbour_bags(
        teacher_features(cfg, checkpoint, feature), k)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'wb') as bag_file:
        np.save(bag_file, bags)
    return out
