"""Matching the teacher's patch-to-patch similarities inside each image."""
import torch
from mmpretrain.registry import MODELS

from .similarity_distill_loss import SimilarityDistillLoss


@MODELS.register_module()
class PatchSimilarityDistillLoss(SimilarityDistillLoss):
    """KL (or cross-entropy) between the patch similarity maps of an image.

    With unit patch tokens ``S`` (student) and ``T`` (teacher), each
    ``N x L x D`` on the same grid of L patches, every patch ``i`` of image
    ``n`` has a distribution over the patches of its own image::

        p_t(n, i) = softmax_j(T[n, i] . T[n, j] / teacher_temperature)
        p_s(n, i) = softmax_j(S[n, i] . S[n, j] / student_temperature)
        kl = sum_j p_t * (log p_t - log p_s)

    averaged over all ``N * L`` patches; see :class:`SimilarityDistillLoss`
    for the divergences.

    Args:
        student_temperature (float): Temperature of the student's softmax.
            Defaults to 0.07.
        teacher_temperature (float): Temperature of the teacher's softmax.
            Defaults to 0.07.
        divergence (str): ``'kl'`` or ``'cross_entropy'``. Defaults to
            ``'kl'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 student_temperature: float = 0.07,
                 teacher_temperature: float = 0.07,
                 divergence: str = 'kl',
                 loss_weight: float = 1.0) -> None:
        super().__init__(student_temperature, teacher_temperature, divergence,
                         loss_weight)

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """Computes the loss.

        Args:
            student (torch.Tensor): NxLxD unit student patch tokens.
            teacher (torch.Tensor): NxLxD' unit teacher patch tokens on the
                same grid, no gradient.

        Returns:
            torch.Tensor: The scalar loss.

        Raises:
            ValueError: The two have different numbers of patches.
        """
        if student.shape[:2] != teacher.shape[:2]:
            raise ValueError(
                f'Student patch tokens {tuple(student.shape)} and teacher '
                f'patch tokens {tuple(teacher.shape)} must have the same '
                'batch size and number of patches.')
        student_maps = student @ student.transpose(1, 2)
        teacher_maps = teacher @ teacher.transpose(1, 2)
        return super().forward(
            student_maps.flatten(0, 1), teacher_maps.flatten(0, 1))
