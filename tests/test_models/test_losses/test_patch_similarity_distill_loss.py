"""PatchSimilarityDistillLoss against the KL of patch maps written out."""
import math

import pytest
import torch
import torch.nn.functional as F

from disco_mm.models.losses import PatchSimilarityDistillLoss


def kl_of_rows(student_row, teacher_row, temperature):
    """sum_j p_t log(p_t / p_s) of two rows of similarities, plain math."""
    exp_s = [math.exp(value / temperature) for value in student_row]
    exp_t = [math.exp(value / temperature) for value in teacher_row]
    p_s = [value / sum(exp_s) for value in exp_s]
    p_t = [value / sum(exp_t) for value in exp_t]
    return sum(t * math.log(t / s) for s, t in zip(p_s, p_t))


def by_hand(student, teacher, temperature):
    """Mean over every patch of every image of the KL of its rows."""
    total, rows = 0.0, 0
    for image_s, image_t in zip(student.tolist(), teacher.tolist()):
        for i in range(len(image_s)):
            row_s = [sum(a * b for a, b in zip(image_s[i], other))
                     for other in image_s]
            row_t = [sum(a * b for a, b in zip(image_t[i], other))
                     for other in image_t]
            total += kl_of_rows(row_s, row_t, temperature)
            rows += 1
    return total / rows


def test_matches_hand_computation():
    # 2 images of 5 patches; student and teacher of other widths
    student = F.normalize(torch.randn(2, 5, 3, dtype=torch.float64), dim=2)
    teacher = F.normalize(torch.randn(2, 5, 7, dtype=torch.float64), dim=2)
    loss = PatchSimilarityDistillLoss(loss_weight=0.5)
    expected = 0.5 * by_hand(student, teacher, 0.07)
    assert loss(student, teacher).item() == pytest.approx(expected, rel=1e-9)


def test_only_patches_of_the_same_image_are_compared():
    """Changing the second image's teacher leaves the first image's part."""
    student = F.normalize(torch.randn(2, 4, 3, dtype=torch.float64), dim=2)
    teacher = F.normalize(torch.randn(2, 4, 3, dtype=torch.float64), dim=2)
    loss = PatchSimilarityDistillLoss()
    first = by_hand(student[:1], teacher[:1], 0.07)
    teacher[1] = student[1]  # the second image's maps then agree: KL 0
    assert loss(student, teacher).item() == pytest.approx(first / 2,
                                                          rel=1e-9)


def test_defaults_are_kl_at_temperature_007():
    loss = PatchSimilarityDistillLoss()
    assert loss.divergence == 'kl'
    assert loss.student_temperature == loss.teacher_temperature == 0.07


def test_different_patch_counts_are_refused():
    with pytest.raises(ValueError, match='same batch size and number of'):
        PatchSimilarityDistillLoss()(torch.randn(2, 4, 3), torch.randn(2, 9,
                                                                      3))
