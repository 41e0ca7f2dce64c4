"""SEED: Self-supervised Distillation (Fang et al., ICLR 2021)."""
from typing import Dict, List, Optional

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_moco_student import BaseMoCoStudent


@MODELS.register_module()
class SEED(BaseMoCoStudent):
    """A student that mimics the teacher's similarities to a queue.

    Per step, with one view ``x``, unit embeddings ``s = student(x)``,
    ``t = teacher(x)`` and the queue ``D`` of past *teacher* embeddings::

        p_t = softmax([t.t, t.D] / tau_t)
        p_s = softmax([s.t, s.D] / tau_s)
        loss_distill = -sum(p_t * log p_s)

    then ``t`` is enqueued. There is no contrastive term, no head and no
    momentum encoder. The paper feeds one augmented image to both
    networks: only the first view of ``inputs`` is used.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        distill_loss (dict): Config of the distribution loss. Defaults to
            :class:`SimilarityDistillLoss` with the official code's
            temperatures, tau_s 0.2 and tau_t 1e-4.
        momentum (float, optional): Momentum of a key encoder, which SEED
            does not use. Defaults to None.
        **kwargs: The student's arguments (``backbone``, ``neck``,
            ``queue_len``, ``feat_dim``, ...), see :class:`BaseMoCoStudent`;
            ``head`` stays None.
    """

    def __init__(self,
                 teacher: dict,
                 distill_loss: dict = dict(
                     type='SimilarityDistillLoss',
                     student_temperature=0.2,
                     teacher_temperature=1e-4),
                 momentum: Optional[float] = None,
                 **kwargs) -> None:
        super().__init__(
            teacher=teacher,
            distill_loss=distill_loss,
            momentum=momentum,
            **kwargs)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes the SEED loss and enqueues the teacher's embeddings.

        Args:
            inputs (list[torch.Tensor]): The augmented views; the first is
                used.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_distill``.
        """
        student, teacher = self.embed(inputs[0]), self.teacher(inputs[0])
        losses = dict(
            loss_distill=self.distill_loss(
                self.similarities(student, teacher),
                self.similarities(teacher, teacher)))
        self.enqueue(teacher)
        return losses
