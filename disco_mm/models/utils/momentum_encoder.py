"""A momentum copy of a student that encodes keys (MoCo's key encoder)."""
import copy
from typing import Optional

import torch
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.registry import MODELS
from torch import nn

from .embedding import embed_images


@MODELS.register_module()
class MomentumEncoder(nn.Module):
    """A copy of a backbone and projector that follows them with momentum.

    Before each encoding, every parameter moves towards the one it copies::

        key = m * key + (1 - m) * query

    then the images are encoded as the student embeds them (projector
    output, or the pooled feature without a projector), L2-normalised.
    The batch is shuffled across processes before the copy's BatchNorm
    sees it and unshuffled after (shuffle-BN).

    The followed modules stay the student's: they are referred to, not
    registered here, so the copy alone is under ``key_encoder.backbone.*``
    and ``key_encoder.neck.*`` of a checkpoint. An algorithm builds it with
    its own backbone and projector as ``default_args``; MoCo and DisCo pair
    it with an :class:`EmbeddingQueue` of its keys, CompRess-2q fills its
    student bank with them. MoCo-v3 would use it alone: the copy of its
    backbone and projector gives the keys of the other view, a predictor in
    the algorithm's head maps the queries, and there is no queue.

    Args:
        backbone (nn.Module): The student backbone it copies and follows.
        neck (nn.Module, optional): The student projector, or None for a
            student embedded by its pooled feature.
        momentum (float): ``m``, the weight of the key encoder's own value
            in each update, in [0.5, 1). Defaults to 0.999 (MoCo).
    """

    def __init__(self,
                 backbone: nn.Module,
                 neck: Optional[nn.Module] = None,
                 momentum: float = 0.999) -> None:
        super().__init__()
        if not 0.5 <= momentum < 1:
            raise ValueError(
                f'model.key_encoder.momentum is m of key = m * key + '
                f'(1 - m) * query, the weight of the old value, and must be '
                f'in [0.5, 1); got {momentum}. mmpretrain counts the other '
                'way: its momentum (e.g. MoCo momentum=0.001) is the weight '
                'of the new value, 1 - m. For MoCo\'s update write 0.999.')
        self.momentum = momentum
        self.backbone = copy.deepcopy(backbone).requires_grad_(False)
        self.neck = (copy.deepcopy(neck).requires_grad_(False)
                     if neck is not None else None)
        # A plain tuple: nn.Module registers modules set as attributes.
        self.followed = (backbone, neck)

    def _pairs(self):
        """The parameters of the copy and of the student, in one order."""
        copies = [self.backbone, self.neck]
        originals = list(self.followed)
        keys = [p for module in copies if module is not None
                for p in module.parameters()]
        queries = [p for module in originals if module is not None
                   for p in module.parameters()]
        return keys, queries

    @torch.no_grad()
    def init_weights(self) -> None:
        """Starts the copy as the student's current weights."""
        for key, query in zip(*self._pairs()):
            key.copy_(query)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Moves towards the student, then encodes keys with shuffle-BN.

        Args:
            images (torch.Tensor): Images, NxCxHxW.

        Returns:
            torch.Tensor: NxD keys of unit length.
        """
        keys, queries = self._pairs()
        torch._foreach_lerp_(keys, queries, 1 - self.momentum)
        shuffled, unshuffle_index = batch_shuffle_ddp(images)
        return batch_unshuffle_ddp(
            embed_images(self.backbone, self.neck, shuffled),
            unshuffle_index)
