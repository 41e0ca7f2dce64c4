"""Frozen-feature evaluation: features, kNN, linear probe, teacher match."""
from .embedding_cosine import mean_embedding_cosine
from .features import FrozenFeatures, extract_frozen_features
from .knn import (knn_accuracy, knn_top1, weighted_knn_predict,
                  weighted_knn_votes)
from .linear_probe import linear_probe_top1

__all__ = [
    'FrozenFeatures', 'extract_frozen_features', 'knn_accuracy', 'knn_top1',
    'linear_probe_top1', 'mean_embedding_cosine', 'weighted_knn_predict',
    'weighted_knn_votes'
]
