"""A network's unit embedding of images, its patch tokens, and the widths
they are made of."""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

#: Side of the image a backbone without a known width is probed with.
PROBE_IMAGE_SIZE = 224


def embed_images(backbone: nn.Module, neck: Optional[nn.Module],
                 images: torch.Tensor) -> torch.Tensor:
    """Returns the L2-normalised embedding of a backbone and its projector.

    Args:
        backbone (nn.Module): The backbone; its last output is a feature
            map (a pooled one is NxCx1x1).
        neck (nn.Module, optional): The projector, or None to embed the
            average-pooled last feature map.
        images (torch.Tensor): Images, NxCxHxW.

    Returns:
        torch.Tensor: NxD embeddings of unit length.
    """
    features = backbone(images)
    if neck is None:
        return F.normalize(features[-1].mean(dim=(2, 3)), dim=1)
    return F.normalize(neck(features)[0], dim=1)


def features_and_patch_tokens(
    backbone: nn.Module, images: torch.Tensor
) -> Tuple[Tuple[torch.Tensor, ...], torch.Tensor, Tuple[int, int]]:
    """Returns a backbone's outputs and its patch tokens from one pass.

    A backbone with ``forward_with_patch_tokens``
    (:class:`~disco_mm.models.backbones.TimmPooledBackbone`) gives its own
    tokens; for any other (mmpretrain's ResNet) they are its last feature
    map, row by row.

    Args:
        backbone (nn.Module): The backbone.
        images (torch.Tensor): Images, NxCxHxW.

    Returns:
        tuple: The backbone's outputs as its ``forward`` gives them; the
        patch tokens, NxLxC; the (height, width) of their grid.

    Raises:
        ValueError: The backbone's last output is no feature map.
    """
    if hasattr(backbone, 'forward_with_patch_tokens'):
        return backbone.forward_with_patch_tokens(images)
    features = backbone(images)
    feature_map = features[-1]
    if feature_map.dim() != 4:
        raise ValueError(
            f'{type(backbone).__name__} ends in an output of shape '
            f'{tuple(feature_map.shape)}, not a NxCxHxW feature map, so it '
            'has no patch tokens: use a CNN backbone or a '
            'TimmPooledBackbone.')
    tokens = feature_map.flatten(2).transpose(1, 2)
    return features, tokens, tuple(feature_map.shape[2:])


def patch_token_width(backbone: nn.Module) -> int:
    """Returns the width of :func:`features_and_patch_tokens`'s tokens.

    Args:
        backbone (nn.Module): The backbone.

    Returns:
        int: Its ``patch_token_width``, or the width of its last feature
        map.
    """
    return getattr(backbone, 'patch_token_width', None) or feature_width(
        backbone)


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


def embedding_width(backbone: nn.Module, neck: Optional[nn.Module]) -> int:
    """Returns the dimension of :func:`embed_images`'s embedding.

    Args:
        backbone (nn.Module): The backbone.
        neck (nn.Module, optional): The projector.

    Returns:
        int: The projector's output width, or without a projector (or one
        without linear layers) the backbone's.
    """
    widths = linear_widths(neck) if neck is not None else None
    return widths[1] if widths else feature_width(backbone)
