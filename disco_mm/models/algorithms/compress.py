"""CompRess: self-supervised learning by compressing representations
(Abbasi Koohpayegani et al., NeurIPS 2020)."""
from typing import Dict, List, Optional

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_moco_student import BaseMoCoStudent

#: The variants: one memory bank of teacher embeddings, or two banks.
VARIANTS = ('1q', '2q')


@MODELS.register_module()
class CompRess(BaseMoCoStudent):
    """A student whose neighbourhood distribution matches the teacher's.

    Per step, with one view ``x``, unit embeddings ``s = student(x)``,
    ``t = teacher(x)``, the memory bank ``B_t`` of past teacher embeddings
    (``queue``) and, for ``2q``, the bank ``B_s`` of past momentum-student
    embeddings (``student_queue``) of the same images::

        p_t = softmax(t.B_t / tau)
        p_s = softmax(s.B_t / tau)    (1q)
        p_s = softmax(s.B_s / tau)    (2q)
        loss_distill = KL(p_t || p_s)

    then ``t`` (and for ``2q`` the momentum student's embedding of ``x``)
    is enqueued. There is no contrastive term and no head; only the first
    view of ``inputs`` is used, as both networks see the same image.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        variant (str): ``'1q'`` or ``'2q'``. Defaults to ``'2q'``.
        distill_loss (dict): Config of the distribution loss. Defaults to
            :class:`SimilarityDistillLoss`, KL with the paper's temperature
            0.04 for both networks.
        momentum (float, optional): Momentum of the student's key encoder,
            which fills ``student_queue`` in ``2q``; None (no key encoder)
            for ``1q``. Defaults to 0.999.
        **kwargs: The student's arguments, see :class:`BaseMoCoStudent`.
    """

    def __init__(self,
                 teacher: dict,
                 variant: str = '2q',
                 distill_loss: dict = dict(
                     type='SimilarityDistillLoss',
                     student_temperature=0.04,
                     teacher_temperature=0.04,
                     divergence='kl'),
                 momentum: Optional[float] = 0.999,
                 **kwargs) -> None:
        if variant not in VARIANTS:
            raise ValueError(
                f"model.variant must be '1q' or '2q', got {variant!r}")
        if (variant == '2q') != (momentum is not None):
            raise ValueError(
                f'CompRess-{variant} got model.momentum={momentum}: 2q fills '
                'its student bank with a momentum encoder and needs a '
                'momentum (e.g. 0.999); 1q has none, set model.momentum=None.')
        super().__init__(
            teacher=teacher,
            distill_loss=distill_loss,
            momentum=momentum,
            **kwargs)
        self.variant = variant
        if variant == '2q':
            self.register_queue('student_queue', *self.queue.shape)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes the CompRess loss and fills the memory bank(s).

        Args:
            inputs (list[torch.Tensor]): The augmented views; the first is
                used.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_distill``.
        """
        student, teacher = self.embed(inputs[0]), self.teacher(inputs[0])
        student_bank = 'student_queue' if self.variant == '2q' else 'queue'
        losses = dict(
            loss_distill=self.distill_loss(
                self.similarities(student, queue=student_bank),
                self.similarities(teacher)))
        if self.variant == '2q':
            self.enqueue(self.encode_keys(inputs[0]), queue='student_queue')
        self.enqueue(teacher)
        return losses
