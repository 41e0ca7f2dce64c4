"""What every distilled student shares: student, teacher, loss, checks."""
from contextlib import nullcontext
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.registry import MODELS
from torch import nn

from ...messages import listed
from ..utils import (EmbeddingQueue, MomentumEncoder, embed_images,
                     embedding_width, feature_width, linear_widths,
                     with_small_map_convs)


class BaseDistiller(BaseSelfSupervisor):
    """A student and, optionally, the frozen teacher it learns from.

    The student is a backbone with an optional projector (``neck``) under
    the names mmpretrain's linear-eval configs load (``backbone.*``), and an
    optional contrastive head. The base builds them, the teacher and the
    distillation loss, and refuses widths that would fail only at the first
    iteration. What a method has beyond that it builds itself from its own
    config entries: an :class:`EmbeddingQueue` (MoCo's negatives, a bank of
    teacher embeddings), a :class:`MomentumEncoder` (MoCo's keys); a
    subclass then writes only its ``loss()``.

    Args:
        backbone (dict): Config of the student backbone.
        neck (dict, optional): Config of the student projector, e.g.
            ``MoCoV2Neck`` with the hidden width ``hid_channels``, or None to
            embed the pooled backbone feature. Defaults to None.
        head (dict, optional): Config of the contrastive head
            (``ContrastiveHead`` with its temperature), for a method with a
            contrastive term. Defaults to None.
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
        small_map_convs (bool): Make the student backbone's convolutions
            :class:`~disco_mm.models.utils.SmallMapConv2d`: the same layers,
            whose weight gradient on output maps of 7x7 or less is a matrix
            product when training in bfloat16 on CPU (``--amp``), several
            times faster than oneDNN's there (see ``docs/benchmarks.md``).
            Nothing else changes. Defaults to True.
        data_preprocessor (dict, optional): Config of the preprocessor.
            Defaults to ``SelfSupDataPreprocessor``.
        init_cfg (dict or list[dict], optional): Initialisation config.
            Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict] = None,
                 head: Optional[dict] = None,
                 teacher: Optional[dict] = None,
                 distill_loss: Optional[dict] = None,
                 channels_last: bool = True,
                 small_map_convs: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[List[dict], dict]] = None) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.teacher = MODELS.build(teacher) if teacher else None
        if distill_loss is not None:
            self.distill_loss = MODELS.build(distill_loss)
        self._check_projector()
        if self.teacher is not None:
            self._check_teacher_width()
        if small_map_convs:
            with_small_map_convs(self.backbone)
        if channels_last:
            # A key encoder copied from the student later keeps the format.
            self.to(memory_format=torch.channels_last)
        self._register_load_state_dict_pre_hook(
            self._rename_before_components, with_module=True)

    @property
    def embedding_width(self) -> int:
        """The dimension of the student's embedding (:meth:`embed`)."""
        return embedding_width(self.backbone, self.neck)

    @property
    def teacher_width(self) -> int:
        """The dimension of the teacher's embedding."""
        return embedding_width(self.teacher.backbone, self.teacher.neck)

    def build_queue(self, cfg: dict, dim: int) -> EmbeddingQueue:
        """Builds an :class:`EmbeddingQueue` of embeddings of width ``dim``.

        Args:
            cfg (dict): Its config, e.g. ``dict(type='EmbeddingQueue',
                length=65536)``.
            dim (int): The width of what is enqueued.
        """
        return MODELS.build(cfg, default_args=dict(dim=dim))

    def build_key_encoder(self, cfg: dict) -> MomentumEncoder:
        """Builds a :class:`MomentumEncoder` following the student.

        Args:
            cfg (dict): Its config, e.g. ``dict(type='MomentumEncoder',
                momentum=0.999)``.
        """
        return MODELS.build(
            cfg, default_args=dict(backbone=self.backbone, neck=self.neck))

    def _check_projector(self) -> None:
        """Refuses a projector that cannot take the backbone's feature.

        Raises:
            ValueError: The projector has a layer without units or does not
                take the backbone's feature; the message names the fields.
        """
        projector = linear_widths(self.neck) if self.neck else None
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
        backbone_width = feature_width(self.backbone)
        if projector[0] != backbone_width:
            raise ValueError(
                f'model.neck.in_channels ({projector[0]}) does not match the '
                f'student backbone, whose feature has {backbone_width} '
                f'channels (model.backbone): set model.neck.in_channels='
                f'{backbone_width}.')

    def _check_teacher_width(self) -> None:
        """Refuses a teacher embedding of another width than the student's.

        Every method that compares the two embeddings (or one with a queue
        of the other's) needs this; a method that compares each only with a
        bank of its own overrides it.

        Raises:
            ValueError: The widths differ; the message names the fields.
        """
        if self.teacher_width != self.embedding_width:
            raise ValueError(
                f'The teacher\'s embedding has {self.teacher_width} '
                'dimensions (model.teacher.neck.out_channels, or the teacher '
                'backbone\'s width without a projector) and the student\'s '
                f'{self.embedding_width} (model.neck.out_channels, or the '
                'student backbone\'s width without a projector): the student '
                'is compared with the teacher\'s embedding, so they must be '
                'equal.')

    def init_weights(self) -> None:
        """Initialises the student and starts momentum encoders as its copy.

        An ``init_cfg`` of the algorithm reaches every submodule; the
        teacher's weights are restored after it.
        """
        keep_teacher = (
            self.teacher.weights_kept()
            if self.teacher is not None and self.init_cfg else nullcontext())
        with keep_teacher:
            super().init_weights()
        for module in self.children():
            if isinstance(module, MomentumEncoder):
                module.init_weights()

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Returns the student's L2-normalised embedding (with gradient).

        Args:
            images (torch.Tensor): Images, NxCxHxW.

        Returns:
            torch.Tensor: NxD embeddings of unit length: the projector's
            output, or without a projector the pooled backbone feature.
        """
        return embed_images(self.backbone, self.neck, images)

    def _rename_before_components(self, module: nn.Module, state_dict: Dict,
                                  prefix: str, *args) -> None:
        """Reads checkpoints written before queues and key encoders were
        modules of their own.

        Such checkpoints held a queue ``X`` as the buffers ``X`` and
        ``X_ptr`` and the key encoder as ``key_encoder.0.*`` (backbone) and
        ``key_encoder.1.*`` (projector); they become ``X.embeddings``,
        ``X.pointer``, ``key_encoder.backbone.*`` and
        ``key_encoder.neck.*``.
        """
        for name, child in self.named_children():
            if isinstance(child, EmbeddingQueue):
                renames = {name: 'embeddings', f'{name}_ptr': 'pointer'}
                for old, new in renames.items():
                    if prefix + old in state_dict:
                        state_dict[f'{prefix}{name}.{new}'] = state_dict.pop(
                            prefix + old)
            elif isinstance(child, MomentumEncoder):
                for index, part in enumerate(('backbone', 'neck')):
                    old = f'{prefix}{name}.{index}.'
                    for key in [k for k in state_dict if k.startswith(old)]:
                        state_dict[f'{prefix}{name}.{part}.'
                                   f'{key[len(old):]}'] = state_dict.pop(key)
