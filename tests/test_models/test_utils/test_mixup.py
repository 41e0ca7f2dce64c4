"""mix_within_batch: one lambda from U(0, 1), a permutation of the batch."""
import pytest
import torch

from disco_mm.models.utils import mix_within_batch

BATCH = 8


def mix_of_one_hot_images():
    """Mixes images i = e_i (one channel per image, 1x1 pixels).

    Returns:
        torch.Tensor: The BxB matrix M with M[i, j] the weight of image j
        in mixed image i.
    """
    images = torch.eye(BATCH, dtype=torch.float64)[:, :, None, None]
    return mix_within_batch(images)[:, :, 0, 0]


def split_mix(weights):
    """Returns (lam, P) with ``weights = lam * I + (1 - lam) * P``.

    An image paired with itself has weight 1 on its diagonal, any other
    weight lam: lam is the smallest diagonal weight.
    """
    lam = weights.diagonal().min().item()
    pairs = (weights - lam * torch.eye(BATCH, dtype=weights.dtype)) / (1 -
                                                                       lam)
    return lam, pairs


def test_each_image_is_mixed_with_one_of_the_batch_by_one_lambda():
    for _ in range(20):
        weights = mix_of_one_hot_images()
        lam, pairs = split_mix(weights)
        assert 0 <= lam < 1
        # P is a permutation matrix: each image is the partner of one
        torch.testing.assert_close(pairs, pairs.round(), atol=1e-9, rtol=0)
        assert pairs.round().sum(dim=0).tolist() == [1.0] * BATCH
        assert pairs.round().sum(dim=1).tolist() == [1.0] * BATCH


def test_lambda_is_uniform_on_0_1():
    lams = torch.tensor([split_mix(mix_of_one_hot_images())[0]
                         for _ in range(400)])
    assert lams.min() < 0.05 and lams.max() > 0.95
    assert lams.mean().item() == pytest.approx(0.5, abs=0.05)
    # a quarter of the draws in each quarter of [0, 1), within sampling
    quarters = torch.histc(lams, bins=4, min=0, max=1)
    assert ((quarters > 70) & (quarters < 130)).all()


def test_seeded_mix_is_reproducible_and_keeps_shape_and_type():
    images = torch.randn(4, 3, 5, 5)
    torch.manual_seed(3)
    first = mix_within_batch(images)
    torch.manual_seed(3)
    assert torch.equal(mix_within_batch(images), first)
    assert first.shape == images.shape and first.dtype == images.dtype
