"""Linear probe on frozen features with known separability."""
import pytest
import torch

from disco_mm.evaluation import linear_probe_top1


def blobs(num_per_class: int, shift: float) -> tuple:
    """Three well separated Gaussian classes in 5-D, one offset dim each."""
    features = torch.randn(3 * num_per_class, 5)
    labels = torch.arange(3).repeat_interleave(num_per_class)
    features[torch.arange(len(labels)), labels] += shift
    return features, labels


def test_separable_classes_score_100():
    train_features, train_labels = blobs(30, shift=20.0)
    test_features, test_labels = blobs(10, shift=20.0)
    assert linear_probe_top1(train_features, train_labels, test_features,
                             test_labels) == pytest.approx(100.0)


def test_score_is_the_percentage_of_right_test_labels():
    train_features, train_labels = blobs(30, shift=20.0)
    test_features, test_labels = blobs(10, shift=20.0)
    test_labels[:3] = (test_labels[:3] + 1) % 3  # 3 of 30 labels wrong
    assert linear_probe_top1(train_features, train_labels, test_features,
                             test_labels) == pytest.approx(90.0)


def test_probe_is_deterministic_and_scale_free():
    train_features, train_labels = blobs(30, shift=1.0)
    test_features, test_labels = blobs(10, shift=1.0)
    first = linear_probe_top1(train_features, train_labels, test_features,
                              test_labels)
    # Standardisation makes a per-dimension scale of the features irrelevant.
    scale = torch.tensor([1e3, 1e-3, 1.0, 10.0, 0.1])
    second = linear_probe_top1(train_features * scale, train_labels,
                               test_features * scale, test_labels)
    assert first == pytest.approx(second)
