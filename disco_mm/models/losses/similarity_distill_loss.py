"""Matching a teacher's similarity distribution with a student's."""
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class SimilarityDistillLoss(nn.Module):
    """Soft cross-entropy or KL between two similarity distributions.

    With similarities ``s`` (student) and ``t`` (teacher) of each sample to
    the same list of anchors (a queue or memory bank)::

        p_t = softmax(t / teacher_temperature)
        p_s = softmax(s / student_temperature)
        cross_entropy = -sum(p_t * log p_s)          (SEED)
        kl            = sum(p_t * (log p_t - log p_s))  (CompRess)

    summed over the anchors and averaged over the batch. The two differ by
    the entropy of ``p_t``, which has no gradient: the same student update,
    a different logged value.

    Args:
        student_temperature (float): Temperature of the student's softmax.
        teacher_temperature (float): Temperature of the teacher's softmax.
        divergence (str): ``'cross_entropy'`` or ``'kl'``. Defaults to
            ``'cross_entropy'``.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 student_temperature: float,
                 teacher_temperature: float,
                 divergence: str = 'cross_entropy',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if divergence not in ('cross_entropy', 'kl'):
            raise ValueError(
                "divergence must be 'cross_entropy' (SEED) or 'kl' "
                f'(CompRess), got {divergence!r}')
        for name, value in (('student_temperature', student_temperature),
                            ('teacher_temperature', teacher_temperature)):
            if value <= 0:
                raise ValueError(f'{name} must be positive, got {value}')
        self.student_temperature = student_temperature
        self.teacher_temperature = teacher_temperature
        self.divergence = divergence
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """Computes the loss.

        Args:
            student (torch.Tensor): NxK student similarities.
            teacher (torch.Tensor): NxK teacher similarities, no gradient.

        Returns:
            torch.Tensor: The scalar loss.
        """
        student_log_p = F.log_softmax(student / self.student_temperature, 1)
        teacher_log_p = F.log_softmax(teacher / self.teacher_temperature, 1)
        pointwise = -student_log_p
        if self.divergence == 'kl':
            pointwise = pointwise + teacher_log_p
        loss = (teacher_log_p.exp() * pointwise).sum(dim=1).mean()
        return self.loss_weight * loss
