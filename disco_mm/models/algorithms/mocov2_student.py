"""MoCo-v2 on its own: the no-teacher baseline and the teachers' recipe."""
from typing import Dict, List

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_moco_student import BaseMoCoStudent


@MODELS.register_module()
class MoCoV2Student(BaseMoCoStudent):
    """MoCo-v2 (Chen et al., 2020) with the shared student machinery.

    Trains teachers and the MoCo-v2-only baseline through the same code path
    as :class:`DisCo`, so the two differ only by distillation.
    See :class:`BaseMoCoStudent` for the arguments.
    """

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
        key = self.encode_keys(inputs[1])
        losses = dict(loss_contrastive=self.contrastive_loss(query, key))
        self.enqueue(key)
        return losses
