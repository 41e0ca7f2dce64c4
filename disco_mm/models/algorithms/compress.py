"""CompRess: self-supervised learning by compressing representations
(Abbasi Koohpayegani et al., NeurIPS 2020)."""
from typing import Dict, List

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_distiller import BaseDistiller

#: KL between the two similarity distributions, the paper's temperature.
COMPRESS_LOSS = dict(
    type='SimilarityDistillLoss',
    student_temperature=0.04,
    teacher_temperature=0.04,
    divergence='kl')

#: The official memory bank: 128,000 embeddings.
COMPRESS_BANK = dict(type='EmbeddingQueue', length=128000)


@MODELS.register_module()
class CompRess1q(BaseDistiller):
    """A student whose similarities to the teacher's bank match the teacher's.

    Per step, with one view ``x``, unit embeddings ``s = student(x)``,
    ``t = teacher(x)`` and the bank ``B_t`` of past teacher embeddings::

        p_t = softmax(t.B_t / tau)
        p_s = softmax(s.B_t / tau)
        loss_distill = KL(p_t || p_s)

    similarities taken before ``t`` is enqueued. As in the official code
    (``train_student_one_queue.py``) the teacher is the backbone without
    its head (``teacher.neck=None``: its pooled feature, 2048-d for a
    ResNet-50) and the student's ``neck`` is one linear layer onto that
    width (``LinearNeck``, ``norm_cfg=None``). There is no contrastive term
    and no contrastive head; only the first view of ``inputs`` is used, as
    both networks see the same image.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        teacher_bank (dict): Config of the :class:`EmbeddingQueue` of
            teacher embeddings. Defaults to 128,000 of them.
        distill_loss (dict): Config of the distribution loss. Defaults to
            :class:`SimilarityDistillLoss`, KL with the paper's temperature
            0.04 for both networks.
        **kwargs: The student's arguments (``backbone``, ``neck``), see
            :class:`BaseDistiller`.
    """

    def __init__(self,
                 teacher: dict,
                 teacher_bank: dict = COMPRESS_BANK,
                 distill_loss: dict = COMPRESS_LOSS,
                 **kwargs) -> None:
        super().__init__(
            teacher=teacher, distill_loss=distill_loss, **kwargs)
        self.teacher_bank = self.build_queue(teacher_bank, self.teacher_width)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes the CompRess loss and enqueues the teacher's embedding.

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
                self.teacher_bank.similarities(student),
                self.teacher_bank.similarities(teacher)))
        self.teacher_bank.enqueue(teacher)
        return losses


@MODELS.register_module()
class CompRess2q(BaseDistiller):
    """A student whose similarities to its own bank match the teacher's.

    Per step, with one view ``x``, unit embeddings ``s = student(x)``,
    ``t = teacher(x)``, the bank ``B_t`` of past teacher embeddings and the
    bank ``B_s`` of past embeddings of the same images by a momentum copy
    of the student::

        p_t = softmax(t.B_t / tau)
        p_s = softmax(s.B_s / tau)
        loss_distill = KL(p_t || p_s)

    similarities taken before ``t`` enters ``B_t`` and the momentum copy's
    embedding of ``x`` enters ``B_s``; the two banks stay aligned. As in
    the official code (``train_student.py``) the teacher is the backbone
    without its head (``teacher.neck=None``: its pooled feature, 2048-d for
    a ResNet-50) and the student has no head either (``neck=None``: its raw
    pooled feature, 512-d for a ResNet-18), so the two banks have the
    widths of their networks. There is no contrastive term and no
    contrastive head; only the first view of ``inputs`` is used, as both
    networks see the same image.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        teacher_bank (dict): Config of the :class:`EmbeddingQueue` of
            teacher embeddings. Defaults to 128,000 of them.
        student_bank (dict): Config of the :class:`EmbeddingQueue` of the
            momentum student's embeddings; as long as ``teacher_bank``.
            Defaults to 128,000 of them.
        key_encoder (dict): Config of the :class:`MomentumEncoder` that
            fills ``student_bank``. Defaults to momentum 0.999.
        distill_loss (dict): Config of the distribution loss. Defaults to
            KL with temperature 0.04 for both networks.
        **kwargs: The student's arguments, see :class:`BaseDistiller`.
    """

    def __init__(self,
                 teacher: dict,
                 teacher_bank: dict = COMPRESS_BANK,
                 student_bank: dict = COMPRESS_BANK,
                 key_encoder: dict = dict(
                     type='MomentumEncoder', momentum=0.999),
                 distill_loss: dict = COMPRESS_LOSS,
                 **kwargs) -> None:
        super().__init__(
            teacher=teacher, distill_loss=distill_loss, **kwargs)
        self.teacher_bank = self.build_queue(teacher_bank, self.teacher_width)
        self.student_bank = self.build_queue(student_bank,
                                             self.embedding_width)
        if self.student_bank.length != self.teacher_bank.length:
            raise ValueError(
                'The banks hold embeddings of the same images and must be '
                f'as long: model.student_bank.length '
                f'({self.student_bank.length}) != model.teacher_bank.length '
                f'({self.teacher_bank.length}).')
        self.key_encoder = self.build_key_encoder(key_encoder)

    def _check_teacher_width(self) -> None:
        """Allows any widths: each network meets only its own bank.

        ``p_t`` and ``p_s`` are distributions over the same images (the two
        aligned banks), whatever the widths of the embeddings.
        """

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes the CompRess loss and fills both banks.

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
                self.student_bank.similarities(student),
                self.teacher_bank.similarities(teacher)))
        self.student_bank.enqueue(self.key_encoder(inputs[0]))
        self.teacher_bank.enqueue(teacher)
        return losses
