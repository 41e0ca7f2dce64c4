"""Exporting a trained student's backbone to where it is deployed."""
import os.path as osp

from ..models.teachers.checkpoint_formats import (CheckpointFormatError,
                                                  StateDict, first_keys,
                                                  has_prefix,
                                                  load_checkpoint_file, rename,
                                                  state_dict_of)
from .teacher_conversion import save_checkpoint_file

#: Where a student can be exported to.
EXPORT_TARGETS = ('mmpretrain', 'mmdet', 'timm', 'torchvision')

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


def export_student(src: str, dst: str, to: str) -> StateDict:
    """Writes the student backbone of a training checkpoint for deployment.

    Only the backbone is written: no projector, momentum encoder, queue or
    teacher.

    * ``mmpretrain``: ``{'meta', 'state_dict': {backbone.*}}``, which
      mmpretrain configs load through the backbone's
      ``init_cfg=dict(type='Pretrained', checkpoint=dst,
      prefix='backbone.')``.
    * ``mmdet``: ``{'meta', 'state_dict': {conv1.*, ..., layer4.*}}`` by
      torchvision's names (ResNet students only), which mmdet's ``ResNet``
      and C4 ``ResLayer`` load through ``init_cfg=dict(type='Pretrained',
      checkpoint=dst)``.
    * ``timm``: the state dict of ``timm.create_model(name)`` without its
      classifier (a ResNet student by timm's ResNet names).
    * ``torchvision``: the state dict of a torchvision ResNet without
      ``fc`` (ResNet students only).

    Args:
        src (str): A disco_mm training checkpoint (loaded with
            ``weights_only=True``).
        dst (str): The file to write.
        to (str): One of :data:`EXPORT_TARGETS`.

    Returns:
        dict: The tensors written.
    """
    if to not in EXPORT_TARGETS:
        raise ValueError(f'to must be one of {EXPORT_TARGETS}, got {to!r}')
    backbone = student_backbone(
        state_dict_of(load_checkpoint_file(src)), source=src)
    if to == 'mmpretrain':
        exported = backbone
    elif to == 'timm':
        exported = model_weights(backbone)
    else:
        exported = torchvision_resnet_weights(backbone, src, library=to)
    if to in ('mmpretrain', 'mmdet'):
        meta = dict(source=osp.basename(src), exported_to=to)
        save_checkpoint_file(dict(meta=meta, state_dict=exported), dst)
    else:
        save_checkpoint_file(exported, dst)
    return exported
