"""Weighted k-nearest-neighbour classification of frozen features."""
from typing import Optional

import torch
import torch.nn.functional as F


def weighted_knn_predict(bank_features: torch.Tensor,
                         bank_labels: torch.Tensor,
                         query_features: torch.Tensor,
                         k: int = 20,
                         temperature: float = 0.07,
                         num_classes: Optional[int] = None) -> torch.Tensor:
    """Predicts each query's class by a similarity-weighted vote.

    Features are L2-normalised, so similarity is the cosine. Each query's
    ``k`` most similar bank entries vote for their label with weight
    ``exp(similarity / temperature)``; the class with the largest total wins
    (the smallest class index on a tie).

    Args:
        bank_features (torch.Tensor): MxC features of the memory bank.
        bank_labels (torch.Tensor): M integer labels of the bank.
        query_features (torch.Tensor): NxC features to classify.
        k (int): Number of neighbours; capped at the bank size. Defaults to
            20.
        temperature (float): Temperature of the vote weights. Defaults to
            0.07.
        num_classes (int, optional): Number of classes. Defaults to the
            largest bank label plus one.

    Returns:
        torch.Tensor: N predicted labels.
    """
    if k < 1 or temperature <= 0:
        raise ValueError(f'k must be >= 1 and temperature > 0, got k={k}, '
                         f'temperature={temperature}')
    num_classes = num_classes or int(bank_labels.max()) + 1
    similarity = F.normalize(
        query_features, dim=1) @ F.normalize(
            bank_features, dim=1).t()
    top_similarity, top_index = similarity.topk(
        min(k, bank_features.shape[0]), dim=1)
    votes = torch.zeros(
        query_features.shape[0], num_classes, dtype=similarity.dtype)
    votes.scatter_add_(1, bank_labels[top_index],
                       (top_similarity / temperature).exp())
    return votes.argmax(dim=1)


def knn_top1(bank_features: torch.Tensor,
             bank_labels: torch.Tensor,
             query_features: torch.Tensor,
             query_labels: torch.Tensor,
             k: int = 20,
             temperature: float = 0.07) -> float:
    """Top-1 accuracy of :func:`weighted_knn_predict`, in percent.

    Args:
        bank_features (torch.Tensor): MxC features of the memory bank
            (the training split).
        bank_labels (torch.Tensor): M integer labels of the bank.
        query_features (torch.Tensor): NxC features of the held-out split.
        query_labels (torch.Tensor): N true labels of the queries.
        k (int): Number of neighbours. Defaults to 20.
        temperature (float): Temperature of the vote weights. Defaults to
            0.07.

    Returns:
        float: The share of queries classified right, in percent.
    """
    num_classes = int(max(bank_labels.max(), query_labels.max())) + 1
    predicted = weighted_knn_predict(bank_features, bank_labels,
                                     query_features, k, temperature,
                                     num_classes)
    return 100.0 * (predicted == query_labels).double().mean().item()
