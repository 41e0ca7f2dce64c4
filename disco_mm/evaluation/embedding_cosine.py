"""How closely a student's embeddings follow its teacher's."""
import torch
import torch.nn.functional as F


def mean_embedding_cosine(student_embeddings: torch.Tensor,
                          teacher_embeddings: torch.Tensor) -> float:
    """Mean cosine between the student's and teacher's embedding per image.

    Args:
        student_embeddings (torch.Tensor): NxD student embeddings.
        teacher_embeddings (torch.Tensor): NxD teacher embeddings of the same
            images in the same order.

    Returns:
        float: The mean over images of cos(student, teacher), in [-1, 1].
    """
    if student_embeddings.shape != teacher_embeddings.shape:
        raise ValueError(
            'student and teacher embeddings must be of the same images and '
            f'dimension, got {tuple(student_embeddings.shape)} and '
            f'{tuple(teacher_embeddings.shape)}')
    return F.cosine_similarity(
        student_embeddings, teacher_embeddings, dim=1).mean().item()
