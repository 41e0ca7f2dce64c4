"""Weighted k-nearest-neighbour classification of frozen features."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F

#: Queries compared with the bank at once: bounds the similarity matrix to
#: ``QUERY_CHUNK x bank size`` (e.g. 2 GB for ImageNet's 1.28M images).
QUERY_CHUNK = 512


def weighted_knn_votes(bank_features: torch.Tensor,
                       bank_labels: torch.Tensor,
                       query_features: torch.Tensor,
                       k: int = 20,
                       temperature: float = 0.07,
                       num_classes: Optional[int] = None) -> torch.Tensor:
    """Each query's similarity-weighted votes per class.

    Features are L2-normalised, so similarity is the cosine. Each query's
    ``k`` most similar bank entries vote for their label with weight
    ``exp(similarity / temperature)``.

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
        torch.Tensor: N x num_classes summed vote weights, on the features'
        device.
    """
    if k < 1 or temperature <= 0:
        raise ValueError(f'k must be >= 1 and temperature > 0, got k={k}, '
                         f'temperature={temperature}')
    num_classes = num_classes or int(bank_labels.max()) + 1
    bank = F.normalize(bank_features, dim=1)
    votes = []
    for queries in F.normalize(query_features, dim=1).split(QUERY_CHUNK):
        top_similarity, top_index = (queries @ bank.t()).topk(
            min(k, bank.shape[0]), dim=1)
        chunk_votes = top_similarity.new_zeros(queries.shape[0], num_classes)
        chunk_votes.scatter_add_(1, bank_labels[top_index],
                                 (top_similarity / temperature).exp())
        votes.append(chunk_votes)
    return torch.cat(votes)


def weighted_knn_predict(bank_features: torch.Tensor,
                         bank_labels: torch.Tensor,
                         query_features: torch.Tensor,
                         k: int = 20,
                         temperature: float = 0.07,
                         num_classes: Optional[int] = None) -> torch.Tensor:
    """Predicts each query's class by a similarity-weighted vote.

    The class with the largest total of :func:`weighted_knn_votes` wins (the
    smallest class index on a tie).

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
    return weighted_knn_votes(bank_features, bank_labels, query_features, k,
                              temperature, num_classes).argmax(dim=1)


def knn_accuracy(bank_features: torch.Tensor,
                 bank_labels: torch.Tensor,
                 query_features: torch.Tensor,
                 query_labels: torch.Tensor,
                 k: int = 20,
                 temperature: float = 0.07,
                 topk: Sequence[int] = (1, )) -> Dict[int, float]:
    """Top-n accuracies of the weighted kNN vote, in percent.

    A query counts as right at top-n when its true label is among the ``n``
    classes with the largest votes (ties broken towards smaller classes).

    Args:
        bank_features (torch.Tensor): MxC features of the memory bank
            (the training split).
        bank_labels (torch.Tensor): M integer labels of the bank.
        query_features (torch.Tensor): NxC features of the held-out split.
        query_labels (torch.Tensor): N true labels of the queries.
        k (int): Number of neighbours. Defaults to 20.
        temperature (float): Temperature of the vote weights. Defaults to
            0.07.
        topk (Sequence[int]): The ``n`` of each accuracy. Defaults to (1, ).

    Returns:
        dict: The accuracy in percent by ``n``.
    """
    num_classes = int(max(bank_labels.max(), query_labels.max())) + 1
    if max(topk) > num_classes or min(topk) < 1:
        raise ValueError(f'top-n accuracies need 1 <= n <= the {num_classes} '
                         f'classes, got topk={tuple(topk)}')
    votes = weighted_knn_votes(bank_features, bank_labels, query_features, k,
                               temperature, num_classes)
    # A stable sort of the negated votes keeps smaller classes first on ties,
    # as argmax does.
    ranked = (-votes).argsort(dim=1, stable=True)[:, :max(topk)]
    hits = ranked == query_labels[:, None]
    return {
        n: 100.0 * hits[:, :n].any(dim=1).double().mean().item()
        for n in topk
    }


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
    return knn_accuracy(bank_features, bank_labels, query_features,
                        query_labels, k, temperature)[1]
