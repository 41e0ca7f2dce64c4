"""EmbeddingDistillLoss against a squared error summed by hand."""
import pytest
import torch

from disco_mm.models.losses import EmbeddingDistillLoss

DIM = 3


def summed_squared_error(student, teacher):
    """Sums ``(s - t)^2`` over every sample and dimension with plain loops.

    Args:
        student (torch.Tensor): NxD embeddings.
        teacher (torch.Tensor): NxD embeddings.

    Returns:
        float: The plain sum.
    """
    total = 0.0
    for student_row, teacher_row in zip(student.tolist(), teacher.tolist()):
        for s, t in zip(student_row, teacher_row):
            total += (s - t)**2
    return total


def embeddings(batch):
    """Returns a student and a teacher batch of DIM-d float64 embeddings."""
    return (torch.randn(batch, DIM, dtype=torch.float64),
            torch.randn(batch, DIM, dtype=torch.float64))


@pytest.mark.parametrize(
    'kwargs, batch, scale',
    [
        # the official per-process batch: the plain sum
        (dict(reduction='sum', sum_batch_size=32), 32, 1.0),
        # a smaller batch is scaled up to the official one
        (dict(reduction='sum', sum_batch_size=32), 4, 32 / 4),
        (dict(reduction='sum', sum_batch_size=None), 4, 1.0),
        (dict(reduction='mean'), 4, 1 / (4 * DIM)),
        (dict(reduction='sum', sum_batch_size=8,
              loss_weight=0.25), 4, 0.25 * 8 / 4),
        (dict(reduction='mean', loss_weight=3.0), 4, 3.0 / (4 * DIM)),
    ])
def test_loss_matches_hand_sum(kwargs, batch, scale):
    student, teacher = embeddings(batch)
    loss = EmbeddingDistillLoss(**kwargs)(student, teacher)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(
        scale * summed_squared_error(student, teacher), rel=1e-12)


def test_defaults_are_official_sum():
    student, teacher = embeddings(4)
    loss = EmbeddingDistillLoss()(student, teacher)
    assert loss.item() == pytest.approx(
        summed_squared_error(student, teacher) * 32 / 4, rel=1e-12)


@pytest.mark.parametrize('batch', [4, 8, 32])
@pytest.mark.parametrize('sum_batch_size, weight', [(32, 1.0), (8, 0.5)])
def test_mean_with_weight_dim_times_batch_equals_sum(batch, sum_batch_size,
                                                     weight):
    student, teacher = embeddings(batch)
    mean = EmbeddingDistillLoss(
        reduction='mean', loss_weight=weight * DIM * sum_batch_size)
    summed = EmbeddingDistillLoss(
        reduction='sum', sum_batch_size=sum_batch_size, loss_weight=weight)
    assert mean(student, teacher).item() == pytest.approx(
        summed(student, teacher).item(), rel=1e-12)


def test_gradient_is_twice_the_weighted_difference():
    student, teacher = embeddings(4)
    student.requires_grad_(True)
    EmbeddingDistillLoss(
        sum_batch_size=None, loss_weight=0.5)(student, teacher).backward()
    torch.testing.assert_close(student.grad, 0.5 * 2 * (student - teacher))


@pytest.mark.parametrize('reduction', ['none', 'avg', 'batchmean'])
def test_bad_reduction_raises(reduction):
    with pytest.raises(ValueError, match=f"'sum' or 'mean'.*'{reduction}'"):
        EmbeddingDistillLoss(reduction=reduction)
