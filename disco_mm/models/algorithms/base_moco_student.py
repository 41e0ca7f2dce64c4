"""What every momentum-contrast student shares: encoders, queue, teacher."""
import copy
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.models.utils import batch_shuffle_ddp, batch_unshuffle_ddp
from mmpretrain.registry import MODELS
from torch import nn

from ...messages import listed

#: Side of the image a backbone without a known width is probed with.
PROBE_IMAGE_SIZE = 224


def feature_width(backbone: nn.Module) -> int:
    """Returns the channels of a backbone's last output.

    Read from ``num_features`` (timm, :class:`TimmPooledBackbone`) or
    ``feat_dim`` (mmpretrain's ResNet), else measured on one image.

    Args:
        backbone (nn.Module): The backbone.

    Returns:
        int: The width of its last feature map.
    """
    width = getattr(backbone, 'num_features', None) or getattr(
        backbone, 'feat_dim', None)
    if width:
        return int(width)
    was_training = backbone.training
    backbone.eval()
    with torch.no_grad():
        output = backbone(
            torch.zeros(1, 3, PROBE_IMAGE_SIZE, PROBE_IMAGE_SIZE))
    backbone.train(was_training)
    return output[-1].shape[1]


def linear_widths(module: nn.Module) -> Optional[Tuple[int, int]]:
    """Returns the widths a projector takes and gives.

    Args:
        module (nn.Module): The projector.

    Returns:
        tuple[int, int] or None: ``in_features`` of its first linear layer
        and ``out_features`` of its last, or None without linear layers.
    """
    linears = [layer for layer in module.modules()
               if isinstance(layer, nn.Linear)]
    if not linears:
        return None
    return linears[0].in_features, linears[-1].out_features


class BaseMoCoStudent(BaseSelfSupervisor):
    """A MoCo-v2 student and, optionally, the frozen teacher it learns from.

    The student is a backbone with a projector (``neck``) under the names
    mmpretrain's linear-eval configs load (``backbone.*``). The base owns
    the momentum key encoder, the queue of negative keys and the teacher;
    a subclass writes only its ``loss()``. A method without a contrastive
    term leaves out the head (``head=None``), the key encoder
    (``momentum=None``) or the queue (``queue_len=0``), and may keep more
    queues of embeddings with :meth:`register_queue`.

    Args:
        backbone (dict): Config of the student backbone.
        neck (dict): Config of the student projector, e.g. ``MoCoV2Neck``
            with the hidden width ``hid_channels``.
        head (dict, optional): Config of the contrastive head
            (``ContrastiveHead`` with its temperature), or None for a method
            without a contrastive term. Defaults to None.
        queue_len (int): Number of embeddings in ``queue`` (the negative
            keys), a multiple of the global batch, or 0 for no queue.
            Defaults to 65536.
        feat_dim (int): Embedding dimension. Defaults to 128.
        momentum (float, optional): Momentum ``m`` of the key encoder as in
            the MoCo paper: ``key = m * key + (1 - m) * query``, or None for
            no key encoder. Defaults to 0.999.
        teacher (dict, optional): Config of a :class:`FrozenTeacher`.
            Defaults to None.
        distill_loss (dict, optional): Config of a loss built as
            ``distill_loss``, for a method that compares student and
            teacher. Defaults to None.
        channels_last (bool): Keep the convolution weights of student, key
            encoder and teacher in channels-last memory format; activations
            follow them. oneDNN (CPU) and cuDNN run such convolutions
            faster (see ``docs/benchmarks.md``); the results are the same
            up to float rounding. Defaults to True.
        data_preprocessor (dict, optional): Config of the preprocessor.
            Defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: Optional[dict] = None,
                 queue_len: int = 65536,
                 feat_dim: int = 128,
                 momentum: Optional[float] = 0.999,
                 teacher: Optional[dict] = None,
                 distill_loss: Optional[dict] = None,
                 channels_last: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        if queue_len < 0:
            raise ValueError(
                f'model.queue_len must be 0 (no queue) or positive, got '
                f'{queue_len}')
        if feat_dim < 1:
            raise ValueError(
                f'model.feat_dim, the embedding dimension, must be at least '
                f'1, got {feat_dim}')
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        if momentum is not None and not 0 <= momentum < 1:
            raise ValueError(
                f'momentum is m of key = m * key + (1 - m) * query and must '
                f'be in [0, 1), got {momentum} (MoCo uses 0.999)')
        self.momentum = momentum
        self.key_encoder = None if momentum is None else copy.deepcopy(
            nn.Sequential(self.backbone, self.neck)).requires_grad_(False)
        if queue_len:
            self.register_queue('queue', queue_len, feat_dim)
        self.teacher = MODELS.build(teacher) if teacher else None
        if distill_loss is not None:
            self.distill_loss = MODELS.build(distill_loss)
        self._check_widths(feat_dim)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def register_queue(self, name: str, queue_len: int,
                       feat_dim: int) -> None:
        """Adds a queue of random unit embeddings and its pointer.

        The buffers are ``name`` (``queue_len x feat_dim``) and
        ``{name}_ptr``; :meth:`enqueue` with ``queue=name`` fills the queue.

        Args:
            name (str): Name of the queue buffer.
            queue_len (int): Number of embeddings it holds.
            feat_dim (int): Their dimension.
        """
        self.register_buffer(
            name, F.normalize(torch.randn(queue_len, feat_dim), dim=1))
        self.register_buffer(f'{name}_ptr', torch.zeros(1, dtype=torch.long))

    def _check_widths(self, feat_dim: int) -> None:
        """Refuses widths that would fail only at the first iteration.

        Args:
            feat_dim (int): The queue's embedding dimension.

        Raises:
            ValueError: The projector has a layer without units, does not
                take the backbone's feature or does not give ``feat_dim``,
                or the teacher's embedding has another dimension; the
                message names the fields.
        """
        backbone_width = feature_width(self.backbone)
        projector = linear_widths(self.neck)
        if projector is None:
            return
        empty_layers = [
            f'{name} ({layer.in_features} -> {layer.out_features})'
            for name, layer in self.neck.named_modules()
            if isinstance(layer, nn.Linear)
            and min(layer.in_features, layer.out_features) < 1
        ]
        if empty_layers:
            raise ValueError(
                'model.neck has linear layers of width 0:' +
                listed(empty_layers) + '\nThe embedding would not depend on '
                'the image and no gradient would reach the backbone: set '
                'model.neck.hid_channels (and in_channels, out_channels) to '
                'at least 1.')
        if projector[0] != backbone_width:
            raise ValueError(
                f'model.neck.in_channels ({projector[0]}) does not match the '
                f'student backbone, whose feature has {backbone_width} '
                f'channels (model.backbone): set model.neck.in_channels='
                f'{backbone_width}.')
        if projector[1] != feat_dim:
            raise ValueError(
                f'model.feat_dim ({feat_dim}) must equal the projector\'s '
                f'output width, model.neck.out_channels ({projector[1]}).')
        if self.teacher is None:
            return
        teacher_projector = (linear_widths(self.teacher.neck)
                             if self.teacher.neck is not None else None)
        teacher_dim = (teacher_projector[1] if teacher_projector else
                       feature_width(self.teacher.backbone))
        if teacher_dim != feat_dim:
            raise ValueError(
                f'The teacher\'s embedding has {teacher_dim} dimensions '
                '(model.teacher.neck.out_channels, or the teacher backbone\'s '
                f'width without a projector) and the student\'s {feat_dim} '
                '(model.feat_dim, model.neck.out_channels): the student '
                'regresses the teacher\'s embedding, so they must be equal.')

    def init_weights(self) -> None:
        """Initialises the student and starts the key encoder as its copy.

        An ``init_cfg`` of the algorithm reaches every submodule, so the
        teacher is then loaded from its file again.
        """
        super().init_weights()
        if self.teacher is not None and self.init_cfg:
            self.teacher.load_checkpoint(self.teacher.checkpoint)
        if self.key_encoder is None:
            return
        query = nn.Sequential(self.backbone, self.neck)
        with torch.no_grad():
            for key_param, query_param in zip(self.key_encoder.parameters(),
                                              query.parameters()):
                key_param.copy_(query_param)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Returns the student's L2-normalised embedding (with gradient).

        Args:
            images (torch.Tensor): Images, NxCxHxW.

        Returns:
            torch.Tensor: NxD embeddings of unit length.
        """
        return F.normalize(self.neck(self.backbone(images))[0], dim=1)

    @torch.no_grad()
    def encode_keys(self, images: torch.Tensor) -> torch.Tensor:
        """Moves the key encoder towards the student and encodes keys.

        The batch is shuffled across processes before the key encoder's
        BatchNorm sees it (shuffle-BN) and unshuffled after.

        Args:
            images (torch.Tensor): Images, NxCxHxW.

        Returns:
            torch.Tensor: NxD keys of unit length.
        """
        if self.key_encoder is None:
            raise RuntimeError(
                f'{type(self).__name__} was built without a key encoder '
                '(model.momentum=None); set model.momentum, e.g. 0.999.')
        key_params = list(self.key_encoder.parameters())
        query_params = list(self.backbone.parameters()) + list(
            self.neck.parameters())
        torch._foreach_lerp_(key_params, query_params, 1 - self.momentum)
        shuffled, unshuffle_index = batch_shuffle_ddp(images)
        keys = F.normalize(self.key_encoder(shuffled)[0], dim=1)
        return batch_unshuffle_ddp(keys, unshuffle_index)

    def contrastive_loss(self, query: torch.Tensor,
                         key: torch.Tensor) -> torch.Tensor:
        """InfoNCE of each query against its key and the queued negatives.

        Args:
            query (torch.Tensor): NxD student embeddings.
            key (torch.Tensor): NxD keys of the other view.

        Returns:
            torch.Tensor: The scalar loss of the contrastive head.
        """
        if self.head is None:
            raise RuntimeError(
                f'{type(self).__name__} has a contrastive term but no '
                'contrastive head: set model.head, e.g. dict('
                "type='ContrastiveHead', loss=dict(type='CrossEntropyLoss'), "
                'temperature=0.2).')
        positive = (query * key).sum(dim=1, keepdim=True)
        return self.head.loss(positive, self.similarities(query))

    def similarities(self,
                     embedding: torch.Tensor,
                     key: Optional[torch.Tensor] = None,
                     queue: str = 'queue') -> torch.Tensor:
        """Cosine similarities of unit embeddings to a key and a queue.

        Args:
            embedding (torch.Tensor): NxD unit embeddings.
            key (torch.Tensor, optional): NxD unit keys, one per embedding,
                whose similarity comes first. Defaults to None.
            queue (str): Name of the queue. Defaults to ``'queue'``.

        Returns:
            torch.Tensor: Nx(1+K) ``[e.key, e.queue]``, or NxK ``e.queue``
            without a key.
        """
        queued = getattr(self, queue)
        if embedding.requires_grad:
            # Backward needs the queue as it is now; enqueue() overwrites it
            # before backward.
            queued = queued.clone()
        to_queue = embedding @ queued.t()
        if key is None:
            return to_queue
        return torch.cat([(embedding * key).sum(dim=1, keepdim=True),
                          to_queue], dim=1)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, queue: str = 'queue') -> None:
        """Replaces the oldest queued keys by this step's keys of all ranks.

        Args:
            keys (torch.Tensor): NxD keys of this process.
            queue (str): Name of the queue (see :meth:`register_queue`).
                Defaults to ``'queue'``.
        """
        keys = torch.cat(all_gather(keys), dim=0)
        buffer, pointer = getattr(self, queue), getattr(self, f'{queue}_ptr')
        queue_len, batch_size = buffer.shape[0], keys.shape[0]
        if queue_len % batch_size:
            raise ValueError(
                f'queue_len ({queue_len}) must be a multiple of the global '
                f'batch ({batch_size}); change model.queue_len or the batch.')
        start = int(pointer)
        buffer[start:start + batch_size] = keys
        pointer[0] = (start + batch_size) % queue_len
