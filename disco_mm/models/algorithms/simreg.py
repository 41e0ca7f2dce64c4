"""SimReg: regression for self-supervised distillation (Navaneet et al.,
BMVC 2021)."""
from typing import Dict, List

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_distiller import BaseDistiller


@MODELS.register_module()
class SimReg(BaseDistiller):
    """A student whose deep prediction head regresses the teacher's feature.

    Per step, with one view ``x``::

        loss_distill = mean_n ||normalize(h(f_s(x))) - t||^2
                     = mean_n (2 - 2 cos(h(f_s(x)), t))

    ``f_s`` the student backbone, ``h`` the prediction head (``neck``, the
    paper's 4-layer :class:`PredictionMLPNeck`) and ``t = teacher(x)``, the
    teacher's unit embedding: its pooled backbone feature when the teacher
    has ``neck=None`` as in the paper. The head is dropped after training
    (the student stays under ``backbone.*``). No queue, no key encoder, no
    contrastive term; only the first view of ``inputs`` is used, as both
    networks see the same image.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        distill_loss (dict): Config of the regression loss. Defaults to
            :class:`EmbeddingDistillLoss` summed over dimensions and
            averaged over the batch (``sum_batch_size=1``).
        **kwargs: ``backbone`` and ``neck`` (the prediction head, whose
            output width is the teacher's), see :class:`BaseDistiller`.
    """

    def __init__(self,
                 teacher: dict,
                 distill_loss: dict = dict(
                     type='EmbeddingDistillLoss',
                     reduction='sum',
                     sum_batch_size=1),
                 **kwargs) -> None:
        super().__init__(
            teacher=teacher, distill_loss=distill_loss, **kwargs)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Regresses the teacher's embedding of the first view.

        Args:
            inputs (list[torch.Tensor]): The augmented views; the first is
                used.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_distill``.
        """
        return dict(
            loss_distill=self.distill_loss(
                self.embed(inputs[0]), self.teacher(inputs[0])))
