"""A first-in first-out queue of unit embeddings (MoCo's negatives, a
memory bank of teacher embeddings)."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class EmbeddingQueue(nn.Module):
    """The last ``length`` embeddings of every process, oldest replaced first.

    The buffers are ``embeddings`` (``length x dim``, random unit vectors
    at first) and ``pointer``, the row the next batch is written to. What
    fills the queue is its owner's choice: a momentum encoder's keys
    (MoCo, DisCo), the teacher's embeddings (SEED, BINGO, CompRess).

    Args:
        length (int): Number of embeddings it holds, a multiple of the
            global batch.
        dim (int): Their dimension; an algorithm sets it to the width of
            what it enqueues.
    """

    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        if length < 1:
            raise ValueError(
                f'The queue length (model.*.length of an EmbeddingQueue) '
                f'must be positive, got {length}')
        if dim < 1:
            raise ValueError(
                f'An EmbeddingQueue needs embeddings of at least 1 '
                f'dimension, got {dim}')
        self.register_buffer('embeddings',
                             F.normalize(torch.randn(length, dim), dim=1))
        self.register_buffer('pointer', torch.zeros(1, dtype=torch.long))

    @property
    def length(self) -> int:
        """The number of embeddings the queue holds."""
        return self.embeddings.shape[0]

    def similarities(self,
                     embedding: torch.Tensor,
                     positive: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Cosine similarities of unit embeddings to the queue.

        Args:
            embedding (torch.Tensor): NxD unit embeddings.
            positive (torch.Tensor, optional): NxD unit vectors, one per
                embedding, whose similarity comes first. Defaults to None.

        Returns:
            torch.Tensor: Nx(1+K) ``[e.positive, e.queue]``, or NxK
            ``e.queue`` without a positive.
        """
        queued = self.embeddings
        if embedding.requires_grad:
            # Backward needs the queue as it is now; enqueue() overwrites it
            # before backward.
            queued = queued.clone()
        to_queue = embedding @ queued.t()
        if positive is None:
            return to_queue
        return torch.cat(
            [(embedding * positive).sum(dim=1, keepdim=True), to_queue],
            dim=1)

    @torch.no_grad()
    def enqueue(self, embeddings: torch.Tensor) -> None:
        """Replaces the oldest embeddings by this step's of all processes.

        Args:
            embeddings (torch.Tensor): NxD embeddings of this process.

        Raises:
            ValueError: The global batch does not divide the length.
        """
        embeddings = torch.cat(all_gather(embeddings), dim=0)
        batch_size = embeddings.shape[0]
        if self.length % batch_size:
            raise ValueError(
                f'The queue length ({self.length}) must be a multiple of the '
                f'global batch ({batch_size}); change the queue\'s length '
                '(model.queue.length, or the bank of the method) or the '
                'batch.')
        start = int(self.pointer)
        self.embeddings[start:start + batch_size] = embeddings
        self.pointer[0] = (start + batch_size) % self.length
