"""DisCo: Distilled Contrastive Learning (Gao et al., ECCV 2022)."""
from typing import Dict, List

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from ...checkpoints import read_teacher_queue
from .mocov2_student import MoCoV2Student


@MODELS.register_module()
class DisCo(MoCoV2Student):
    """A MoCo-v2 student that also matches a frozen teacher's embedding.

    Per step, with views ``x1`` and ``x2`` and unit-length embeddings::

        loss_contrastive = CE([q1.k, q1.queue] / tau, 0)
        loss_distill     = d(q1, t1) + d(q2, t2)

    ``q = student(x)`` (two passes with gradient), ``k`` from the momentum
    key encoder on ``x2``, ``t = teacher(x)`` without gradient and ``d`` the
    ``distill_loss`` (squared error). Only the final embedding is distilled.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        distill_loss (dict): Config of the distillation loss. Defaults to
            :class:`EmbeddingDistillLoss` with the official sum reduction.
        queue_from_teacher (bool): The official code's quirk: the queue
            starts as the MoCo teacher checkpoint's queue (the teacher's
            keys and write position), and is set to it again whenever a
            checkpoint is loaded, a resumed one included. Defaults to False.
        **kwargs: The MoCo-v2 student's arguments (``backbone``, ``neck``
            with the widened projector, ``head``, ``key_encoder``,
            ``queue``, ...), see :class:`MoCoV2Student`.
    """

    def __init__(self,
                 teacher: dict,
                 distill_loss: dict = dict(type='EmbeddingDistillLoss'),
                 queue_from_teacher: bool = False,
                 **kwargs) -> None:
        super().__init__(teacher=teacher, distill_loss=distill_loss, **kwargs)
        if queue_from_teacher:
            self._start_queue_from_teacher()

    def _start_queue_from_teacher(self) -> None:
        """Copies the teacher's queue now and at every checkpoint load.

        Raises:
            ValueError: The teacher's queue has another shape.
        """
        keys, pointer = read_teacher_queue(self.teacher.checkpoint)
        if keys.shape != self.queue.embeddings.shape:
            raise ValueError(
                f'model.queue_from_teacher copies the queue of '
                f'{self.teacher.checkpoint}, {tuple(keys.shape)} (length x '
                f'dim), into the student\'s, '
                f'{tuple(self.queue.embeddings.shape)}: set '
                'model.queue.length to the teacher\'s length.')
        teacher_queue = dict(embeddings=keys, pointer=torch.tensor([pointer]))

        def put_teacher_queue(module: nn.Module, state_dict: dict,
                              prefix: str, *args) -> None:
            for name, value in teacher_queue.items():
                state_dict[prefix + name] = value

        self.queue.register_load_state_dict_pre_hook(put_teacher_queue)
        self.queue.load_state_dict(teacher_queue)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes both DisCo terms and enqueues this step's keys.

        Args:
            inputs (list[torch.Tensor]): The two augmented views.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_contrastive`` and
            ``loss_distill``.
        """
        view_1, view_2 = inputs
        query_1, query_2 = self.embed(view_1), self.embed(view_2)
        key = self.key_encoder(view_2)
        losses = dict(
            loss_contrastive=self.contrastive_loss(query_1, key),
            loss_distill=self.distill_loss(query_1, self.teacher(view_1)) +
            self.distill_loss(query_2, self.teacher(view_2)))
        self.queue.enqueue(key)
        return losses
