"""Squared-error distillation of a student embedding onto a teacher's."""
from typing import Optional

import torch
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class EmbeddingDistillLoss(nn.Module):
    """``loss_weight * ||student - teacher||^2`` over a batch of embeddings.

    ``reduction='mean'`` averages over samples and dimensions.
    ``reduction='sum'`` is the official DisCo loss, a sum over dimensions and
    samples, written so that it keeps its meaning for any per-process batch:
    the per-sample sum is averaged over the batch and multiplied by
    ``sum_batch_size``, the per-process batch the official sum ran over (32).
    With 32 images per process it is the plain sum; with 64 it is half the
    plain sum, so the distillation keeps the same weight against the
    contrastive loss (a mean over the batch). ``sum_batch_size=None`` gives
    the plain sum whatever the batch.

    With ``reduction='mean'`` the inputs may have any shape (Proteus
    compares NxLxD token maps): the mean runs over every element.

    Rule of equivalence: ``reduction='mean', loss_weight=w * D * B`` equals
    ``reduction='sum', loss_weight=w, sum_batch_size=B`` for embedding
    dimension ``D`` (the official 128 x 32 = 4096 per view).

    Args:
        reduction (str): ``'sum'`` or ``'mean'``. Defaults to ``'sum'``.
        sum_batch_size (int, optional): The batch the sum is scaled to.
            Defaults to 32.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 reduction: str = 'sum',
                 sum_batch_size: Optional[int] = 32,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('sum', 'mean'):
            raise ValueError(
                f"reduction must be 'sum' or 'mean', got {reduction!r}")
        self.reduction = reduction
        self.sum_batch_size = sum_batch_size
        self.loss_weight = loss_weight

    def forward(self, student: torch.Tensor,
                teacher: torch.Tensor) -> torch.Tensor:
        """Computes the weighted squared error.

        Args:
            student (torch.Tensor): Student embeddings, NxD.
            teacher (torch.Tensor): Teacher embeddings, NxD, no gradient.

        Returns:
            torch.Tensor: The scalar loss.
        """
        # At least float32, also under autocast: a bfloat16 sum keeps only
        # three significant digits.
        dtype = torch.promote_types(student.dtype, torch.float32)
        squared_error = (student.to(dtype) - teacher.to(dtype)).pow(2)
        if self.reduction == 'mean':
            loss = squared_error.mean()
        elif self.sum_batch_size is None:
            loss = squared_error.sum()
        else:
            loss = squared_error.sum() / student.shape[0] * self.sum_batch_size
        return self.loss_weight * loss
