"""SEED: Self-supervised Distillation (Fang et al., ICLR 2021)."""
from typing import Dict, List

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_distiller import BaseDistiller


@MODELS.register_module()
class SEED(BaseDistiller):
    """A student that mimics the teacher's similarities to a queue.

    Per step, with one view ``x``, unit embeddings ``s = student(x)``,
    ``t = teacher(x)`` and the queue ``D`` of past *teacher* embeddings::

        p_t = softmax([t.t, t.D] / tau_t)
        p_s = softmax([s.t, s.D] / tau_s)
        loss_distill = -sum(p_t * log p_s)

    then ``t`` is enqueued. There is no contrastive term, no head and no
    momentum encoder. The paper feeds one augmented image to both networks:
    only the first view of ``inputs`` is used.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        queue (dict): Config of the :class:`EmbeddingQueue` of teacher
            embeddings. Defaults to 65,536 of them (the official code).
        distill_loss (dict): Config of the distribution loss. Defaults to
            :class:`SimilarityDistillLoss` with the official code's
            temperatures, tau_s 0.2 and tau_t 1e-4.
        **kwargs: The student's arguments (``backbone``, ``neck``, ...),
            see :class:`BaseDistiller`.
    """

    def __init__(self,
                 teacher: dict,
                 queue: dict = dict(type='EmbeddingQueue', length=65536),
                 distill_loss: dict = dict(
                     type='SimilarityDistillLoss',
                     student_temperature=0.2,
                     teacher_temperature=1e-4),
                 **kwargs) -> None:
        super().__init__(
            teacher=teacher, distill_loss=distill_loss, **kwargs)
        self.queue = self.build_queue(queue, self.teacher_width)

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
                self.queue.similarities(student, teacher),
                self.queue.similarities(teacher, teacher)))
        self.queue.enqueue(teacher)
        return losses
