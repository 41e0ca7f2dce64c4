"""Proteus: a vision transformer regressing a frozen DINOv2's tokens
(Zhang et al., "Accessing Vision Foundation Models via ImageNet-1K",
ICLR 2025)."""
from typing import Dict, List, Tuple

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from torch import nn

from ..backbones import TimmPooledBackbone
from ..utils import patch_token_width
from .base_distiller import BaseDistiller

#: The official loss of each level: mean squared error, weight 1.
MEAN_SQUARED_ERROR = dict(
    type='EmbeddingDistillLoss', reduction='mean', loss_weight=1.0)


def proteus_head(in_width: int, out_width: int) -> nn.Sequential:
    """LayerNorm, then a linear layer from the student's width to the
    teacher's; PyTorch's default initialisation, as the official heads."""
    return nn.Sequential(
        nn.LayerNorm(in_width), nn.Linear(in_width, out_width))


def random_patch_masks(images: int, patches: int, ratio: float,
                       device: torch.device) -> torch.Tensor:
    """Returns masks with ``int(patches * ratio)`` patches of each image
    masked, at positions drawn uniformly without replacement.

    Args:
        images (int): The number of masks.
        patches (int): The patches of an image.
        ratio (float): The fraction of them to mask.
        device (torch.device): Where the masks are made.

    Returns:
        torch.Tensor: ``images x patches`` booleans, True where masked.
    """
    order = torch.rand(images, patches, device=device).argsort(dim=1)
    masks = torch.zeros(images, patches, dtype=torch.bool, device=device)
    return masks.scatter_(1, order[:, :int(patches * ratio)], True)


def has_cls_token(backbone: nn.Module) -> bool:
    """Whether ``backbone`` is a timm vision transformer with a CLS token and
    a patch embedding, wrapped in a :class:`TimmPooledBackbone`."""
    return (isinstance(backbone, TimmPooledBackbone)
            and getattr(backbone.model, 'cls_token', None) is not None
            and hasattr(backbone.model, 'patch_embed'))


@MODELS.register_module()
class Proteus(BaseDistiller):
    """A ViT student regressing a frozen ViT teacher's CLS token, its patch
    tokens and the tokens of patches the student does not see.

    Per step, with one view ``x`` of ``B`` images, the teacher's CLS token
    ``t`` (``B x D``, after its last norm, not normalised) and patch tokens
    ``T`` (``B x L x D``), and the student's CLS token ``c`` and patch
    tokens ``P`` of ``x`` (``C`` wide)::

        n = int(B * mask_probability), k = int(L * mask_ratio)
        M = n masks of k patches each, at random      (the first n images)
        P' = student patch tokens of x[:n] with the patches in M replaced
             by the mask token before the position embedding
        loss_token   = mean (H_token(c) - t)^2                   B x D
        loss_feature = mean ([H_token(c), H_feature(P)] - [t, T])^2
                                                           B x (1 + L) x D
        loss_patch   = mean (H_patch(P'[M]) - T[:n][M])^2   (n k) x D

    each mean over every element, each with its ``loss_weight`` (1 in the
    official code), where ``H_*`` are heads ``LayerNorm(C) -> Linear(C,
    D)``. The student's tokens of ``x`` and of the masked ``x[:n]`` come
    from one pass over the ``B + n`` images. ``configs/proteus/README.md``
    says where each choice comes from.

    The student is a timm vision transformer (:class:`TimmPooledBackbone`)
    whose pooled feature is its CLS token after the last norm: the feature
    linear probes read. The teacher is a ViT too, a :class:`FrozenTeacher`
    without projector whose embedding is its CLS token as it is
    (``normalize=False``); both see the same patch grid. There is no
    ``neck``: the heads serve the loss only.

    Args:
        teacher (dict): Config of the :class:`FrozenTeacher`.
        mask_probability (float): The fraction of each batch whose patches
            are masked for the patch term. Defaults to 0.5.
        mask_ratio (float): The fraction of a masked image's patches that
            are masked. Defaults to 0.5.
        token_loss (dict): Config of the loss on the CLS token. Defaults to
            the mean squared error, weight 1.
        feature_loss (dict): Config of the loss on CLS and patch tokens.
            Defaults to the mean squared error, weight 1.
        patch_loss (dict): Config of the loss on the masked patches.
            Defaults to the mean squared error, weight 1.
        **kwargs: The student's arguments (``backbone``, ...), see
            :class:`BaseDistiller`.
    """

    def __init__(self,
                 teacher: dict,
                 mask_probability: float = 0.5,
                 mask_ratio: float = 0.5,
                 token_loss: dict = MEAN_SQUARED_ERROR,
                 feature_loss: dict = MEAN_SQUARED_ERROR,
                 patch_loss: dict = MEAN_SQUARED_ERROR,
                 **kwargs) -> None:
        if kwargs.get('neck') is not None:
            raise ValueError(
                'Proteus builds its own heads from the student\'s width to '
                'the teacher\'s: remove model.neck (set it to None).')
        for name, value in (('mask_probability', mask_probability),
                            ('mask_ratio', mask_ratio)):
            if not 0 < value <= 1:
                raise ValueError(
                    f'model.{name}={value}: the patch term needs masked '
                    'patches; set it in (0, 1] (0.5 in the official code).')
        super().__init__(teacher=teacher, **kwargs)
        self._check_transformers()
        self.mask_probability = mask_probability
        self.mask_ratio = mask_ratio
        self.token_loss = MODELS.build(token_loss)
        self.feature_loss = MODELS.build(feature_loss)
        self.patch_loss = MODELS.build(patch_loss)
        width = patch_token_width(self.backbone)
        teacher_width = patch_token_width(self.teacher.backbone)
        self.token_head = proteus_head(width, teacher_width)
        self.feature_head = proteus_head(width, teacher_width)
        self.patch_head = proteus_head(width, teacher_width)
        self.mask_token = nn.Parameter(torch.zeros(1, width))

    def _check_teacher_width(self) -> None:
        """Accepts any widths: the heads map the student's onto the
        teacher's."""

    def _check_transformers(self) -> None:
        """Refuses a student or teacher that is no ViT with a CLS token, a
        teacher embedding that is not its raw CLS token, and patch sizes
        that differ (the same image in two patch grids).

        Raises:
            ValueError: The message names the config key to change.
        """
        vit_example = ("dict(type='TimmPooledBackbone', "
                       "model_name='vit_tiny_patch16_224', patch_size=14, "
                       'init_values=1.0)')
        if not has_cls_token(self.backbone):
            raise ValueError(
                'Proteus regresses the teacher\'s tokens with a vision '
                'transformer\'s CLS and patch tokens and masks its patches; '
                f'model.backbone is a {type(self.backbone).__name__}, which '
                'has neither. Set model.backbone to a TimmPooledBackbone of '
                f'a timm ViT, e.g. {vit_example} (configs/proteus/).')
        teacher = self.teacher
        if not has_cls_token(teacher.backbone):
            raise ValueError(
                'Proteus regresses a vision transformer teacher\'s CLS and '
                'patch tokens; model.teacher.backbone is a '
                f'{type(teacher.backbone).__name__}, which has no CLS token. '
                'Set model.teacher to a ViT teacher, e.g. the DINOv2 ViT-S/14 '
                'of configs/_base_/teachers/dinov2_vit-small-p14.py.')
        for prefix, backbone in (('model.backbone', self.backbone),
                                 ('model.teacher.backbone', teacher.backbone)):
            if (backbone.pooling is not None
                    or backbone.model.global_pool != 'token'):
                raise ValueError(
                    f'{prefix} pools its tokens ({prefix}.pooling='
                    f'{backbone.pooling!r}, global_pool='
                    f'{backbone.model.global_pool!r}); Proteus regresses the '
                    f'CLS token: leave {prefix}.pooling=None and '
                    f"global_pool='token'.")
        if teacher.neck is not None or teacher.normalize:
            raise ValueError(
                'Proteus regresses the teacher\'s CLS token as its last norm '
                'gives it: set model.teacher.neck=None and '
                'model.teacher.normalize=False.')
        patch_sizes = [
            tuple(backbone.model.patch_embed.patch_size)
            for backbone in (self.backbone, teacher.backbone)
        ]
        if patch_sizes[0] != patch_sizes[1]:
            raise ValueError(
                f'The student\'s patches are {patch_sizes[0]} px and the '
                f'teacher\'s {patch_sizes[1]} px, so the two see the same '
                'image in different patch grids. Proteus regresses each '
                'student patch token onto the teacher\'s token of the same '
                'patch: give the student the teacher\'s patch size '
                '(model.backbone.patch_size=14 for a DINOv2 teacher, as the '
                'official students are; 16 for a DINOv3 one).')

    def student_tokens(
            self, images: torch.Tensor, masks: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns the student's tokens of the images, and of the first ones
        with their masked patches replaced by the mask token.

        Args:
            images (torch.Tensor): Images, BxCxHxW.
            masks (torch.Tensor): nxL booleans, the masks of the first
                ``n`` images.

        Returns:
            tuple[torch.Tensor]: The CLS tokens (BxC) and patch tokens
            (BxLxC) of the images, and the patch tokens of the masked ones
            (nxLxC), from one pass.
        """
        count = len(masks)
        unmasked = masks.new_zeros(len(images), masks.shape[1])
        (pooled, ), tokens, _ = self.backbone.forward_with_patch_tokens(
            torch.cat([images, images[:count]]),
            torch.cat([unmasked, masks]), self.mask_token)
        cls = pooled[:len(images), :, 0, 0]
        return cls, tokens[:len(images)], tokens[len(images):]

    def loss(self, inputs: List[torch.Tensor], data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """Computes the three regression losses of one batch.

        Args:
            inputs (list[torch.Tensor]): The augmented views; the first is
                used.
            data_samples (list[DataSample]): Unused.

        Returns:
            dict[str, torch.Tensor]: ``loss_token``, ``loss_feature`` and
            ``loss_patch``.

        Raises:
            ValueError: The batch is too small to mask an image.
        """
        images = inputs[0]
        teacher_cls, teacher_tokens, grid = (
            self.teacher.forward_with_patch_tokens(images))
        patches = grid[0] * grid[1]
        count = int(len(images) * self.mask_probability)
        if count == 0 or int(patches * self.mask_ratio) == 0:
            raise ValueError(
                f'A batch of {len(images)} images of {patches} patches has '
                f'no image or patch to mask at model.mask_probability='
                f'{self.mask_probability} and model.mask_ratio='
                f'{self.mask_ratio}: give each process a larger batch '
                '(train_dataloader.batch_size) and drop the last incomplete '
                'one (train_dataloader.drop_last=True).')
        masks = random_patch_masks(count, patches, self.mask_ratio,
                                   images.device)
        cls, tokens, masked_tokens = self.student_tokens(images, masks)
        student_cls = self.token_head(cls)
        student_all = torch.cat(
            [student_cls[:, None], self.feature_head(tokens)], dim=1)
        teacher_all = torch.cat([teacher_cls[:, None], teacher_tokens], dim=1)
        return dict(
            loss_token=self.token_loss(student_cls, teacher_cls),
            loss_feature=self.feature_loss(student_all, teacher_all),
            loss_patch=self.patch_loss(
                self.patch_head(masked_tokens[masks]),
                teacher_tokens[:count][masks]))
