"""Weighted kNN on points whose answer is worked out by hand."""
import math

import pytest
import torch

from disco_mm.evaluation import knn_accuracy, knn_top1, weighted_knn_predict

# One class-0 point at the query and two class-1 points further away:
# cosines to the query (1, 0) are 1, 0 and -0.6.
BANK = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-0.6, 0.8]])
BANK_LABELS = torch.tensor([0, 1, 1])
QUERY = torch.tensor([[1.0, 0.0]])


def test_sharp_temperature_lets_the_closest_point_win():
    # T=1: class 0 gets e^1 = 2.72, class 1 gets e^0 + e^-0.6 = 1.55.
    assert math.exp(1) > math.exp(0) + math.exp(-0.6)
    predicted = weighted_knn_predict(
        BANK, BANK_LABELS, QUERY, k=3, temperature=1.0)
    assert predicted.tolist() == [0]


def test_flat_temperature_lets_the_majority_win():
    # T=10: class 0 gets e^0.1 = 1.11, class 1 gets e^0 + e^-0.06 = 1.94.
    assert math.exp(0.1) < math.exp(0) + math.exp(-0.06)
    predicted = weighted_knn_predict(
        BANK, BANK_LABELS, QUERY, k=3, temperature=10.0)
    assert predicted.tolist() == [1]


def test_only_k_neighbours_vote():
    # With k=1 only the nearest point votes, whatever the temperature.
    predicted = weighted_knn_predict(
        BANK, BANK_LABELS, QUERY, k=1, temperature=10.0)
    assert predicted.tolist() == [0]


def test_k_beyond_the_bank_uses_the_whole_bank():
    predicted = weighted_knn_predict(
        BANK, BANK_LABELS, QUERY, k=20, temperature=10.0)
    assert predicted.tolist() == [1]


def test_features_are_compared_by_cosine_not_length():
    scaled_bank = BANK * torch.tensor([[5.0], [0.1], [3.0]])
    predicted = weighted_knn_predict(
        scaled_bank, BANK_LABELS, QUERY * 7, k=3, temperature=1.0)
    assert predicted.tolist() == [0]


def test_tie_goes_to_the_smaller_class():
    bank = torch.tensor([[0.0, 1.0], [0.0, -1.0]])
    predicted = weighted_knn_predict(
        bank, torch.tensor([1, 0]), torch.tensor([[1.0, 0.0]]), k=2)
    assert predicted.tolist() == [0]


def test_top1_is_the_percentage_of_right_queries():
    queries = torch.tensor([[1.0, 0.1], [0.9, 0.1]])
    # Both queries are closest to the class-0 point: one label is right.
    accuracy = knn_top1(
        BANK,
        BANK_LABELS,
        queries,
        torch.tensor([0, 1]),
        k=3,
        temperature=0.07)
    assert accuracy == pytest.approx(50.0)


def test_labels_missing_from_the_bank_count_as_wrong():
    accuracy = knn_top1(BANK, BANK_LABELS, QUERY, torch.tensor([5]), k=1)
    assert accuracy == 0.0


@pytest.mark.parametrize('k, temperature', [(0, 0.07), (20, 0.0)])
def test_rejects_meaningless_settings(k, temperature):
    with pytest.raises(ValueError, match='k must be'):
        weighted_knn_predict(
            BANK, BANK_LABELS, QUERY, k=k, temperature=temperature)


def brute_force_accuracy(bank, bank_labels, queries, query_labels, k,
                         temperature, n):
    """Top-n accuracy of the weighted vote, one query and neighbour at a
    time in plain Python."""
    right = 0
    for query, label in zip(queries.tolist(), query_labels.tolist()):
        similarities = []
        for entry, entry_label in zip(bank.tolist(), bank_labels.tolist()):
            dot = sum(a * b for a, b in zip(query, entry))
            norms = math.sqrt(sum(a * a for a in query)) * math.sqrt(
                sum(b * b for b in entry))
            similarities.append((dot / norms, entry_label))
        similarities.sort(key=lambda pair: -pair[0])
        votes = [0.0] * 6
        for similarity, entry_label in similarities[:k]:
            votes[entry_label] += math.exp(similarity / temperature)
        ranked = sorted(range(6), key=lambda cls: (-votes[cls], cls))
        right += label in ranked[:n]
    return 100.0 * right / len(query_labels)


@pytest.mark.parametrize('k, temperature', [(1, 0.07), (5, 0.07), (7, 0.5),
                                            (40, 1.0)])
def test_accuracy_matches_a_brute_force_vote(k, temperature, monkeypatch):
    generator = torch.Generator().manual_seed(3)
    bank = torch.randn(30, 4, generator=generator, dtype=torch.float64)
    bank_labels = torch.randint(0, 6, (30, ), generator=generator)
    queries = torch.randn(11, 4, generator=generator, dtype=torch.float64)
    query_labels = torch.randint(0, 6, (11, ), generator=generator)
    # Small chunks: the queries are split across several similarity blocks.
    monkeypatch.setattr('disco_mm.evaluation.knn.QUERY_CHUNK', 4)
    accuracy = knn_accuracy(bank, bank_labels, queries, query_labels, k,
                            temperature, topk=(1, 5))
    for n in (1, 5):
        assert accuracy[n] == pytest.approx(
            brute_force_accuracy(bank, bank_labels, queries, query_labels, k,
                                 temperature, n))
    assert accuracy[1] == knn_top1(bank, bank_labels, queries, query_labels,
                                   k, temperature)
    assert accuracy[1] < accuracy[5]


def test_topk_beyond_the_classes_is_refused():
    with pytest.raises(ValueError, match='top-n accuracies need'):
        knn_accuracy(BANK, BANK_LABELS, QUERY, torch.tensor([0]), topk=(5, ))
