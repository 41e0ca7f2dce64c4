"""MoCo-v2 on its own: the no-teacher baseline and the teachers' recipe."""
from typing import Dict, List

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_distiller import BaseDistiller


@MODELS.register_module()
class MoCoV2Student(BaseDistiller):
    """MoCo-v2 (Chen et al., 2020) with the shared student machinery.

    A momentum key encoder encodes view 2; its keys are contrasted with the
    student's query of view 1 and then enter a queue of negatives::

        loss_contrastive = CE([q1.k, q1.queue] / tau, 0)

    Trains teachers and the MoCo-v2-only baseline through the same code path
    as :class:`DisCo`, which adds the distillation term.

    Args:
        backbone (dict): Config of the student backbone.
        neck (dict): Config of the projector, e.g. ``MoCoV2Neck``.
        head (dict): Config of the ``ContrastiveHead`` with its temperature.
        key_encoder (dict): Config of the :class:`MomentumEncoder`.
            Defaults to momentum 0.999.
        queue (dict): Config of the :class:`EmbeddingQueue` of keys, whose
            width is the projector's output. Defaults to 65,536 keys.
        **kwargs: ``teacher``, ``distill_loss``, ``channels_last``, ...,
            see :class:`BaseDistiller`.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 key_encoder: dict = dict(
                     type='MomentumEncoder', momentum=0.999),
                 queue: dict = dict(type='EmbeddingQueue', length=65536),
                 **kwargs) -> None:
        if head is None:
            raise ValueError(
                f'{self.__class__.__name__} has a contrastive term and needs '
                "a contrastive head: set model.head, e.g. dict(type="
                "'ContrastiveHead', loss=dict(type='CrossEntropyLoss'), "
                'temperature=0.2).')
        super().__init__(backbone=backbone, neck=neck, head=head, **kwargs)
        self.key_encoder = self.build_key_encoder(key_encoder)
        self.queue = self.build_queue(queue, self.embedding_width)

    def contrastive_loss(self, query: torch.Tensor,
                         key: torch.Tensor) -> torch.Tensor:
        """InfoNCE of each query against its key and the queued negatives.

        Args:
            query (torch.Tensor): NxD student embeddings.
            key (torch.Tensor): NxD keys of the other view.

        Returns:
            torch.Tensor: The scalar loss of the contrastive head.
        """
        positive = (query * key).sum(dim=1, keepdim=True)
        return self.head.loss(positive, self.queue.similarities(query))

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Contrasts view 1's query with view 2's key and the queue.

        Args:
            inputs (list[torch.Tensor]): The two augmented views.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_contrastive``.
        """
        query = self.embed(inputs[0])
        key = self.key_encoder(inputs[1])
        losses = dict(loss_contrastive=self.contrastive_loss(query, key))
        self.queue.enqueue(key)
        return losses
