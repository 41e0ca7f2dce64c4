"""BINGO: Bag of Instances Aggregation (Xu et al., ICLR 2022)."""
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmengine.logging import MessageHub
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .base_distiller import BaseDistiller


def cutmix(images: torch.Tensor, patches: torch.Tensor,
           alpha: float) -> Tuple[torch.Tensor, float]:
    """Pastes one random box of ``patches`` into ``images``.

    The box's area fraction is ``1 - lam`` with ``lam ~ Beta(alpha,
    alpha)``; the same box is used for the whole batch, and ``lam`` is
    recomputed from the box as clipped to the image.

    Args:
        images (torch.Tensor): NxCxHxW images that keep the outside.
        patches (torch.Tensor): NxCxHxW images the box is cut from.
        alpha (float): Parameter of the Beta distribution.

    Returns:
        tuple: The mixed images and ``lam``, the share of ``images`` left.
    """
    height, width = images.shape[-2:]
    cut = np.sqrt(1 - np.random.beta(alpha, alpha))
    box_h, box_w = int(height * cut), int(width * cut)
    centre_y, centre_x = np.random.randint(height), np.random.randint(width)
    top, bottom = (np.clip(centre_y - box_h // 2, 0, height),
                   np.clip(centre_y + box_h // 2, 0, height))
    left, right = (np.clip(centre_x - box_w // 2, 0, width),
                   np.clip(centre_x + box_w // 2, 0, width))
    mixed = images.clone()
    mixed[..., top:bottom, left:right] = patches[..., top:bottom, left:right]
    return mixed, 1 - (bottom - top) * (right - left) / (height * width)


@MODELS.register_module()
class BINGO(BaseDistiller):
    """A student pulled towards the teacher's keys of a whole bag.

    Each sample is an anchor image ``a`` and one image ``n`` drawn from its
    bag (its nearest neighbours in the teacher's feature space, see
    :class:`NeighbourBagDataset`), two views each: ``a_q, a_k, n_q, n_k``.
    Queries come from the student, keys from the frozen teacher, negatives
    from a queue of the teacher's anchor keys::

        s_a, s_n, s_m = student(a_q), student(n_q), student(cutmix(a_q, n_q))
        t_a, t_n      = teacher(a_k), teacher(n_k)
        c(s, t)       = CE([s.t, s.queue] / tau, 0)
        agg(s, own, other) = w_own * c(s, own) + w_other * c(s, other)

        loss_bag = (agg(s_a, t_a, t_n) + agg(s_n, t_n, t_a)) / 3
        loss_mix = (lam * c(s_m, t_a) + (1 - lam) * c(s_m, t_n)) / 3

    ``lam`` is the anchor's share of the CutMix image. During the first
    ``own_key_only_epochs`` epochs ``(w_own, w_other) = (1, 0)``, then
    ``bag_weights``. The division by 3 averages the three queries, as in
    the official code. Then ``t_a`` is enqueued. The student has no
    momentum key encoder: the teacher encodes the keys. A teacher whose
    BatchNorm runs on batch statistics (``teacher.bn_train_mode``, the
    official code's teacher) sees each key batch shuffled across processes
    (shuffle-BN), as the official code feeds it.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        head (dict): Config of the ``ContrastiveHead`` with tau.
        queue (dict): Config of the :class:`EmbeddingQueue` of the
            teacher's anchor keys. Defaults to 65,536 of them.
        bag_weights (Sequence[float]): ``(w_own, w_other)`` of a query's
            own key and of its bag partner's key. Defaults to (0.5, 0.5).
        own_key_only_epochs (int): Epochs at the start during which a
            query is pulled to its own key only. Defaults to 11 (the
            official code, epochs 0-10).
        cutmix_alpha (float): Beta parameter of the CutMix box area; the
            official code's 2 favours boxes of about half the image.
            Defaults to 2.0.
        **kwargs: The student's arguments (``backbone``, ``neck``, ...),
            see :class:`BaseDistiller`.
    """

    #: Views per sample: two of the anchor, two of its bag neighbour.
    num_views = 4

    def __init__(self,
                 teacher: dict,
                 head: dict,
                 queue: dict = dict(type='EmbeddingQueue', length=65536),
                 bag_weights: Sequence[float] = (0.5, 0.5),
                 own_key_only_epochs: int = 11,
                 cutmix_alpha: float = 2.0,
                 **kwargs) -> None:
        super().__init__(teacher=teacher, head=head, **kwargs)
        self.queue = self.build_queue(queue, self.teacher_width)
        if len(bag_weights) != 2:
            raise ValueError(
                'model.bag_weights is (w_own, w_other), the weights of a '
                f'query\'s own key and its bag partner\'s, got {bag_weights}')
        self.bag_weights = tuple(bag_weights)
        self.own_key_only_epochs = own_key_only_epochs
        self.cutmix_alpha = cutmix_alpha

    def current_bag_weights(self) -> Tuple[float, float]:
        """Returns ``(w_own, w_other)`` for the current epoch.

        Returns:
            tuple[float, float]: ``(1, 0)`` during the first
            ``own_key_only_epochs`` epochs, then ``bag_weights``.
        """
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        return (1.0, 0.0) if epoch < self.own_key_only_epochs else (
            self.bag_weights)

    @torch.no_grad()
    def teacher_keys(self, images: torch.Tensor) -> torch.Tensor:
        """The teacher's keys, with shuffle-BN when its BatchNorm trains.

        In eval mode a key does not depend on the rest of its batch and the
        batch goes to the teacher as it is.

        Args:
            images (torch.Tensor): NxCxHxW key views.

        Returns:
            torch.Tensor: NxD unit keys, in the order of ``images``.
        """
        if not self.teacher.training:
            return self.teacher(images)
        shuffled, unshuffle_index = batch_shuffle_ddp(images)
        return batch_unshuffle_ddp(self.teacher(shuffled), unshuffle_index)

    def aggregate(self, query: torch.Tensor, own_key: torch.Tensor,
                  other_key: torch.Tensor,
                  weights: Tuple[float, float]) -> torch.Tensor:
        """Weighted InfoNCE of queries against two positive keys.

        Args:
            query (torch.Tensor): NxD student queries.
            own_key (torch.Tensor): NxD teacher keys of the same images.
            other_key (torch.Tensor): NxD teacher keys of the bag partners.
            weights (tuple[float, float]): ``(w_own, w_other)``.

        Returns:
            torch.Tensor: ``w_own * c(q, own) + w_other * c(q, other)``.
        """
        negatives = self.queue.similarities(query)  # shared by both keys
        return sum(
            weight * self.head.loss((query * key).sum(dim=1, keepdim=True),
                                    negatives)
            for weight, key in zip(weights, (own_key, other_key)) if weight)

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes both BINGO terms and enqueues the anchors' keys.

        Args:
            inputs (list[torch.Tensor]): The four views ``a_q, a_k, n_q,
                n_k`` of :class:`NeighbourBagDataset`.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_bag`` and ``loss_mix``.
        """
        if len(inputs) != self.num_views:
            raise ValueError(
                f'BINGO takes 4 views per sample (two of the image, two of '
                f'a bag neighbour), got {len(inputs)}: wrap the training '
                'data set in NeighbourBagDataset (see configs/bingo).')
        anchor_q, anchor_k, neighbour_q, neighbour_k = inputs
        mixed, lam = cutmix(anchor_q, neighbour_q, self.cutmix_alpha)
        student_a, student_n, student_m = (
            self.embed(anchor_q), self.embed(neighbour_q), self.embed(mixed))
        teacher_a, teacher_n = (self.teacher_keys(anchor_k),
                                self.teacher_keys(neighbour_k))
        weights = self.current_bag_weights()
        losses = dict(
            loss_bag=(self.aggregate(student_a, teacher_a, teacher_n, weights)
                      + self.aggregate(student_n, teacher_n, teacher_a,
                                       weights)) / 3,
            loss_mix=self.aggregate(student_m, teacher_a, teacher_n,
                                    (lam, 1 - lam)) / 3)
        self.queue.enqueue(teacher_a)
        return losses
