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
    at first, or zeros with ``start_empty``) and ``pointer``, the row the
    next batch is written to. What fills the queue is its owner's choice: a
    momentum encoder's keys (MoCo, DisCo), the teacher's embeddings (SEED,
    BINGO, CompRess, GlobalLocalDistill).

    Args:
        length (int): Number of embeddings it holds, a multiple of the
            batch it takes at each step (the global batch, or the batch of
            one process without ``gather``).
        dim (int): Their dimension; an algorithm sets it to the width of
            what it enqueues.
        start_empty (bool): Start with zero rows instead of random unit
            vectors: until the queue is full, each empty row is a similarity
            of 0 to every embedding. Defaults to False.
        gather (bool): Enqueue the embeddings of every process (all of them
            then hold the same queue); False keeps only this process's own.
            Defaults to True.
    """

    def __init__(self,
                 length: int,
                 dim: int,
                 start_empty: bool = False,
                 gather: bool = True) -> None:
        super().__init__()
        if length < 1:
            raise ValueError(
                f'The queue length (model.*.length of an EmbeddingQueue) '
                f'must be positive, got {length}')
        if dim < 1:
            raise ValueError(
                f'An EmbeddingQueue needs embeddings of at least 1 '
                f'dimension, got {dim}')
        initial = (
            torch.zeros(length, dim)
            if start_empty else F.normalize(torch.randn(length, dim), dim=1))
        self.gather = gather
        self.register_buffer('embeddings', initial)
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
        """Replaces the oldest embeddings by this step's of all processes
        (of this process without ``gather``).

        Args:
            embeddings (torch.Tensor): NxD embeddings of this process.

        Raises:
            ValueError: The batch does not divide the length.
        """
        if self.gather:
            embeddings = torch.cat(all_gather(embeddings), dim=0)
        batch_size = embeddings.shape[0]
        if self.length % batch_size:
            batch = 'global batch' if self.gather else 'batch per process'
            raise ValueError(
                f'The queue length ({self.length}) must be a multiple of the '
                f'{batch} ({batch_size}); change the queue\'s length '
                '(model.queue.length, or the bank of the method) or the '
                'batch.')
        start = int(self.pointer)
        self.embeddings[start:start + batch_size] = embeddings
        self.pointer[0] = (start + batch_size) % self.length
