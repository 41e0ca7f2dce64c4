"""Global and local similarity distillation, as LightlyTrain's
``distillation`` method (its version 3; version 1 without the local term)."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from ..utils import (feature_width, features_and_patch_tokens,
                     mix_within_batch, patch_token_width)
from .base_distiller import BaseDistiller

#: KL between the softmaxed similarities to the queue, temperature 0.07.
GLOBAL_LOSS = dict(
    type='SimilarityDistillLoss',
    student_temperature=0.07,
    teacher_temperature=0.07,
    divergence='kl')

#: KL between the patch-to-patch similarity maps, temperature 0.07.
LOCAL_LOSS = dict(type='PatchSimilarityDistillLoss')

#: LightlyTrain's queue for a data set of 20,000 images or more; every
#: process keeps its own, empty at first.
TEACHER_QUEUE = dict(
    type='EmbeddingQueue', length=8192, start_empty=True, gather=False)


def projector(in_width: int, out_width: int) -> nn.Linear:
    """One linear layer, weights from a normal of std 0.02.

    The normal is cut at +-2 (torch's default bounds, absolute, not in
    standard deviations), which keeps practically every draw; the bias
    keeps torch's default initialisation.
    """
    layer = nn.Linear(in_width, out_width)
    nn.init.trunc_normal_(layer.weight, std=0.02)
    return layer


@MODELS.register_module()
class GlobalLocalDistill(BaseDistiller):
    """A student matching the teacher's similarities between images and
    between the patches of each image.

    Per step, with one view ``x`` mixed inside the batch
    (``m = lam * x + (1 - lam) * x[perm]``, ``lam ~ U(0, 1)``, teacher and
    student both see ``m``), the teacher's unit embedding ``t`` (a ViT's
    CLS token, a CNN's pooled feature) and unit patch tokens ``T``
    (``N x L x D``), and the student's pooled feature ``f`` and patch
    tokens ``F`` (``N x L_s x C``)::

        s = unit(P_global(f))
        S = unit(resize_to_teacher_grid(P_local(F)))      (bilinear)
        queue.enqueue(t)                 # the queue Q holds t already
        loss_global = KL(softmax(t.Q / 0.07) || softmax(s.Q / 0.07))
        loss_local = KL(softmax(T_i.T_j / 0.07) || softmax(S_i.S_j / 0.07))

    the KLs summed over the queue (or the image's patches) and averaged
    over the batch (or all patches of the batch); ``P_global`` and
    ``P_local`` are linear layers from the student's widths to the
    teacher's. Without ``local_loss`` (LightlyTrain's version 1) only
    ``loss_global`` is computed and the teacher gives its embedding alone.
    ``configs/global_local/README.md`` says where each choice comes from.

    The student's pooled feature is its backbone's own (a CNN's average
    pooled last map, a ViT's CLS token): the feature linear probes and kNN
    evaluations read. There is no ``neck``: the projectors serve the loss
    only.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        queue (dict): Config of the :class:`EmbeddingQueue` of teacher
            embeddings. Defaults to 8,192 of them, empty at first, one per
            process.
        global_loss (dict): Config of the loss on the similarities to the
            queue. Defaults to :class:`SimilarityDistillLoss`, KL at
            temperature 0.07.
        local_loss (dict, optional): Config of the loss on the patch
            similarity maps, or None for the global loss alone. Defaults to
            :class:`PatchSimilarityDistillLoss`, KL at temperature 0.07.
        **kwargs: The student's arguments (``backbone``, ...), see
            :class:`BaseDistiller`.
    """

    def __init__(self,
                 teacher: dict,
                 queue: dict = TEACHER_QUEUE,
                 global_loss: dict = GLOBAL_LOSS,
                 local_loss: Optional[dict] = LOCAL_LOSS,
                 **kwargs) -> None:
        if kwargs.get('neck') is not None:
            raise ValueError(
                'GlobalLocalDistill builds its own linear projectors from the '
                'student\'s widths to the teacher\'s: remove model.neck (set '
                'it to None).')
        super().__init__(teacher=teacher, **kwargs)
        self.queue = self.build_queue(queue, self.teacher_width)
        self.global_loss = MODELS.build(global_loss)
        self.global_projector = projector(
            feature_width(self.backbone), self.teacher_width)
        self.local_loss = MODELS.build(local_loss) if local_loss else None
        if self.local_loss is not None:
            self.local_projector = projector(
                patch_token_width(self.backbone),
                patch_token_width(self.teacher.backbone))

    def _check_teacher_width(self) -> None:
        """Accepts any widths: the projectors map the student's onto the
        teacher's."""

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Returns the student's projected unit embedding (with gradient).

        Args:
            images (torch.Tensor): Images, NxCxHxW.

        Returns:
            torch.Tensor: NxD unit vectors, D the teacher's embedding width.
        """
        return self._project_global(self.backbone(images))

    def embed_with_patch_tokens(
            self, images: torch.Tensor,
            grid_size: Tuple[int, int]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns the student's unit embedding and unit patch tokens.

        The patch tokens are projected to the teacher's token width, then
        resized bilinearly (``align_corners=False``) from the student's grid
        to ``grid_size``, then normalised.

        Args:
            images (torch.Tensor): Images, NxCxHxW.
            grid_size (tuple[int, int]): The teacher's patch grid.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: The NxD embedding as
            :meth:`embed` gives it and the NxLxD' patch tokens, L the
            number of cells of ``grid_size``.
        """
        features, tokens, grid = features_and_patch_tokens(
            self.backbone, images)
        projected = self.local_projector(tokens)
        token_map = projected.transpose(1, 2).unflatten(2, grid)
        token_map = F.interpolate(
            token_map, size=grid_size, mode='bilinear', align_corners=False)
        patch_tokens = F.normalize(token_map.flatten(2).transpose(1, 2), dim=2)
        return self._project_global(features), patch_tokens

    def _project_global(self, features: Tuple[torch.Tensor]) -> torch.Tensor:
        """Unit global projection of the backbone's pooled last output."""
        pooled = features[-1].mean(dim=(2, 3))
        return F.normalize(self.global_projector(pooled), dim=1)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes the losses of one mixed batch and enqueues the teacher's
        embeddings.

        Args:
            inputs (list[torch.Tensor]): The augmented views; the first is
                used.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_global`` and, with a local
            loss, ``loss_local``.
        """
        images = mix_within_batch(inputs[0])
        losses = {}
        if self.local_loss is None:
            student, teacher = self.embed(images), self.teacher(images)
        else:
            teacher, teacher_tokens, grid = (
                self.teacher.forward_with_patch_tokens(images))
            student, student_tokens = self.embed_with_patch_tokens(
                images, grid)
            losses['loss_local'] = self.local_loss(
                student_tokens, F.normalize(teacher_tokens, dim=2))
        self.queue.enqueue(teacher)
        losses['loss_global'] = self.global_loss(
            self.queue.similarities(student), self.queue.similarities(teacher))
        return losses
