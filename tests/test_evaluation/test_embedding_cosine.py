"""Mean teacher-student cosine on embeddings worked out by hand."""
import pytest
import torch

from disco_mm.evaluation import mean_embedding_cosine


def test_mean_of_per_image_cosines():
    teacher = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # cos = 1 for the first image, 0 for the second (length ignored).
    student = torch.tensor([[3.0, 0.0], [2.0, 0.0]])
    assert mean_embedding_cosine(student, teacher) == pytest.approx(0.5)


def test_teacher_against_itself_is_one():
    teacher = torch.randn(7, 4)
    assert mean_embedding_cosine(teacher, teacher) == pytest.approx(1.0)


def test_rejects_embeddings_of_other_images_or_dimensions():
    with pytest.raises(ValueError, match='same images and dimension'):
        mean_embedding_cosine(torch.randn(3, 4), torch.randn(2, 4))
