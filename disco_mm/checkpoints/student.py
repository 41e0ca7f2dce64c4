"""The student of a training checkpoint, by the names of where it goes.

A disco_mm training checkpoint holds the student under ``backbone.*``
beside its projector, momentum encoder and queue. These functions take the
backbone out and rename it for the library that will load it: mmpretrain
keeps ``backbone.*``, timm wants the wrapped model's own names, torchvision
and mmdet the names of torchvision's ResNet, mmpretrain's
``VisionTransformer`` its own names for a timm ViT's.
"""

from .files import (CheckpointFormatError, StateDict, first_keys, has_prefix,
                    rename)
from .vit_names import vit_names

#: The top-level modules of a torchvision ResNet without its classifier.
TORCHVISION_RESNET_MODULES = ('conv1', 'bn1', 'layer1', 'layer2', 'layer3',
                              'layer4')


def student_backbone(state: StateDict, source: str) -> StateDict:
    """Returns the ``backbone.*`` entries of a student's state dict.

    Args:
        state (dict): A disco_mm training checkpoint's state dict (student,
            projector, momentum encoder, queue), or any state dict with the
            student under ``backbone.*``.
        source (str): The file, for the error message.

    Returns:
        dict: The backbone's tensors, still under ``backbone.``.

    Raises:
        CheckpointFormatError: No ``backbone.*`` entry.
    """
    backbone = rename(state, [('backbone.', 'backbone.')])
    if not backbone:
        raise CheckpointFormatError(
            f'{source} holds no student backbone (no backbone.* key); first '
            f'keys: {first_keys(state)}. Export a disco_mm training '
            'checkpoint, or first convert an official DisCo checkpoint with '
            'tools/model_converters/disco_official2disco_mm.py --part '
            'student.')
    return backbone


def model_weights(backbone: StateDict) -> StateDict:
    """Returns the backbone's tensors by the names of the model it wraps.

    A :class:`TimmPooledBackbone` keeps timm's model under ``model.``;
    mmpretrain's ResNet has torchvision's (and timm's) ResNet names.

    Args:
        backbone (dict): ``backbone.*`` tensors.

    Returns:
        dict: The tensors without ``backbone.`` / ``backbone.model.``.
    """
    prefix = ('backbone.model.'
              if has_prefix(backbone, 'backbone.model.') else 'backbone.')
    return rename(backbone, [(prefix, '')])


def mmpretrain_vit_weights(backbone: StateDict, source: str) -> StateDict:
    """Returns a timm ViT student's tensors by mmpretrain's ViT names.

    mmpretrain's ``VisionTransformer`` (``out_type='cls_token'``, the
    default) then gives the student's pooled feature: the class token
    after the final norm.

    Args:
        backbone (dict): ``backbone.*`` tensors of a ``TimmPooledBackbone``
            around a timm ``VisionTransformer``.
        source (str): The file, for the error message.

    Returns:
        dict: A state dict of mmpretrain's ``VisionTransformer``.

    Raises:
        CheckpointFormatError: The student has tensors mmpretrain's
            ``VisionTransformer`` has no place for (another model, or a ViT
            with register tokens, a norm before the blocks or after
            pooling). Layer scale is renamed (``ls1.gamma`` ->
            ``attn.gamma1.weight``) and left to the stock-model check.
    """
    renamed, foreign = vit_names(model_weights(backbone), to='mmpretrain')
    if foreign:
        raise CheckpointFormatError(
            f'The student of {source} is not a timm ViT of the layout of '
            "mmpretrain's VisionTransformer (class token, learned position "
            'embedding, pre-norm blocks, final norm): it has '
            f'{first_keys(foreign)}. Export it with --to timm or --to '
            'mmpretrain.')
    return renamed


def torchvision_resnet_weights(backbone: StateDict,
                               source: str,
                               library: str = 'torchvision') -> StateDict:
    """Returns a ResNet student's tensors by torchvision's names.

    mmdet's ``ResNet`` (and the ``ResLayer`` that holds ``layer4`` in its
    C4 detectors) uses the same names.

    Args:
        backbone (dict): ``backbone.*`` tensors.
        source (str): The file, for the error message.
        library (str): Where the weights go, for the error message.
            Defaults to ``'torchvision'``.

    Returns:
        dict: A torchvision ResNet state dict without ``fc``.

    Raises:
        CheckpointFormatError: The backbone is not a ResNet of torchvision's
            layout.
    """
    weights = model_weights(backbone)
    foreign = [
        key for key in weights
        if key.split('.')[0] not in TORCHVISION_RESNET_MODULES
    ]
    if foreign:
        raise CheckpointFormatError(
            f'The student of {source} is not a ResNet of torchvision\'s '
            f'layout, which {library} needs: it has no {first_keys(foreign)}. '
            'Only ResNet students export to torchvision and mmdet; export '
            'others with --to timm or --to mmpretrain.')
    return weights
