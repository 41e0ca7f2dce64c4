"""Frozen features of a trained self-supervised model."""
from dataclasses import dataclass
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class FrozenFeatures:
    """What a frozen model gives for each image of a data set, in order.

    Attributes:
        pooled (torch.Tensor): NxC globally average-pooled backbone output,
            the feature a linear probe and a kNN classifier use.
        embeddings (torch.Tensor): NxD L2-normalised projector output (the
            embedding DisCo distils), or pooled feature without projector.
        labels (torch.Tensor): N class labels.
    """

    pooled: torch.Tensor
    embeddings: torch.Tensor
    labels: torch.Tensor


@torch.no_grad()
def extract_frozen_features(model: nn.Module,
                            data_loader: Iterable) -> FrozenFeatures:
    """Runs a model in eval mode over a data loader, without gradient.

    The model is a self-supervised algorithm with ``data_preprocessor``,
    ``backbone`` and ``neck`` (e.g. ``MoCoV2Student`` or ``DisCo``; without
    a ``neck``, e.g. CompRess-2q, the embedding is the pooled feature). Each
    batch is normalised by the model's own preprocessor; BatchNorm uses its
    running statistics. The model's train/eval mode is restored afterwards.

    Args:
        model (nn.Module): The trained model.
        data_loader (Iterable): Batches of ``inputs`` and ``data_samples``:
            single (not multi-view) images and their ``gt_label``.

    Returns:
        FrozenFeatures: Pooled features, embeddings and labels on the CPU.
    """
    was_training = model.training
    model.eval()
    pooled, embeddings, labels = [], [], []
    try:
        for batch in data_loader:
            data = model.data_preprocessor(batch, training=False)
            feature_maps = model.backbone(data['inputs'])
            pooled_features = feature_maps[-1].mean(dim=(2, 3))
            pooled.append(pooled_features.cpu())
            embedding = (pooled_features if model.neck is None else
                         model.neck(feature_maps)[0])
            embeddings.append(F.normalize(embedding, dim=1).cpu())
            labels.append(
                torch.cat([sample.gt_label
                           for sample in data['data_samples']]).cpu())
    finally:
        model.train(was_training)
    return FrozenFeatures(
        pooled=torch.cat(pooled),
        embeddings=torch.cat(embeddings),
        labels=torch.cat(labels))
