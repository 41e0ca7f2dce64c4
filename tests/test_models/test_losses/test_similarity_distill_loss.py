"""SimilarityDistillLoss against soft cross-entropy and KL written out."""
import math

import pytest
import torch

from disco_mm.models.losses import SimilarityDistillLoss


def softmax_row(row, temperature):
    """Softmax of a list of numbers at a temperature, with plain math."""
    exps = [math.exp(value / temperature) for value in row]
    return [value / sum(exps) for value in exps]


def by_hand(student, teacher, tau_s, tau_t, kl):
    """Mean over rows of -sum p_t log p_s (+ sum p_t log p_t for KL)."""
    total = 0.0
    for student_row, teacher_row in zip(student.tolist(), teacher.tolist()):
        p_s = softmax_row(student_row, tau_s)
        p_t = softmax_row(teacher_row, tau_t)
        total += sum(-t * math.log(s) + (t * math.log(t) if kl else 0.0)
                     for s, t in zip(p_s, p_t))
    return total / student.shape[0]


@pytest.mark.parametrize('divergence', ['cross_entropy', 'kl'])
def test_matches_hand_computation(divergence):
    student = torch.randn(3, 5, dtype=torch.float64)
    teacher = torch.randn(3, 5, dtype=torch.float64)
    loss = SimilarityDistillLoss(0.2, 0.5, divergence, loss_weight=2.0)
    expected = 2.0 * by_hand(student, teacher, 0.2, 0.5,
                             divergence == 'kl')
    assert loss(student, teacher).item() == pytest.approx(expected, rel=1e-9)


def test_kl_of_equal_distributions_is_zero_and_ce_their_entropy():
    similarities = torch.randn(2, 4, dtype=torch.float64)
    kl = SimilarityDistillLoss(0.1, 0.1, 'kl')(similarities, similarities)
    assert kl.item() == pytest.approx(0.0, abs=1e-12)
    cross_entropy = SimilarityDistillLoss(0.1, 0.1)(similarities,
                                                    similarities)
    p = torch.softmax(similarities / 0.1, dim=1)
    entropy = -(p * p.log()).sum(dim=1).mean()
    torch.testing.assert_close(cross_entropy, entropy)


def test_tiny_teacher_temperature_stays_finite():
    # SEED's 1e-4 makes the teacher's softmax almost one-hot.
    student = torch.randn(2, 6, requires_grad=True)
    teacher = torch.randn(2, 6)
    loss = SimilarityDistillLoss(0.2, 1e-4, 'kl')(student, teacher)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(student.grad).all()


@pytest.mark.parametrize('kwargs, message', [
    (dict(divergence='mse'), "divergence must be 'cross_entropy'"),
    (dict(student_temperature=0.0), 'student_temperature must be positive'),
])
def test_invalid_settings_are_named(kwargs, message):
    settings = dict(student_temperature=0.2, teacher_temperature=0.1)
    with pytest.raises(ValueError, match=message):
        SimilarityDistillLoss(**dict(settings, **kwargs))
