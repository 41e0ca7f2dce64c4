"""Exporting a trained student's backbone to where it is deployed.

:func:`export_student` reads the student out of a training checkpoint
(:mod:`~disco_mm.checkpoints.student`), checks it against the target
library's stock model (:mod:`~disco_mm.checkpoints.stock_models`) and
writes the file. A new target is one more name in :data:`EXPORT_TARGETS`,
its renaming in ``student.py`` and its stock model in ``stock_models.py``.
"""
import os.path as osp
from typing import Optional

from .files import (StateDict, load_checkpoint_file, rename,
                    save_checkpoint_file, state_dict_of)
from .stock_models import check_stock_fit
from .student import (mmpretrain_vit_weights, model_weights, student_backbone,
                      torchvision_resnet_weights)

#: Where a student can be exported to.
EXPORT_TARGETS = ('mmpretrain', 'mmpretrain-vit', 'mmdet', 'timm',
                  'torchvision')


def export_student(src: str,
                   dst: str,
                   to: str,
                   model_name: Optional[str] = None,
                   allow_mismatch: bool = False) -> StateDict:
    """Writes the student backbone of a training checkpoint for deployment.

    Only the backbone is written: no projector, momentum encoder, queue or
    teacher.

    * ``mmpretrain``: ``{'meta', 'state_dict': {backbone.*}}``, which
      mmpretrain configs load through the backbone's
      ``init_cfg=dict(type='Pretrained', checkpoint=dst,
      prefix='backbone.')``. The config that loads it builds the student's
      own backbone, so nothing is checked.
    * ``mmpretrain-vit``: a timm ViT student as mmpretrain's
      ``VisionTransformer`` (``{'meta', 'state_dict': {backbone.*}}`` by its
      names), e.g. ``arch='deit-tiny'`` for ``vit_tiny_patch16_224``;
      ``meta['stock_model']`` says how to build it. Its default
      ``out_type='cls_token'`` gives the student's pooled feature.
    * ``mmdet``: ``{'meta', 'state_dict': {conv1.*, ..., layer4.*}}`` by
      torchvision's names (ResNet students only), which mmdet's ``ResNet``
      and C4 ``ResLayer`` load through ``init_cfg=dict(type='Pretrained',
      checkpoint=dst)``.
    * ``timm``: the state dict of ``timm.create_model(name)`` without its
      classifier (a ResNet student by timm's ResNet names).
    * ``torchvision``: the state dict of a torchvision ResNet without
      ``fc`` (ResNet students only).

    For every target but ``mmpretrain`` the library's stock model
    (built without weights) must load the result: a student of another
    width or depth is refused unless ``allow_mismatch`` is set.

    Args:
        src (str): A disco_mm training checkpoint (loaded with
            ``weights_only=True``).
        dst (str): The file to write.
        to (str): One of :data:`EXPORT_TARGETS`.
        model_name (str, optional): The stock model to check against, e.g.
            ``'efficientnet_b0'`` (for ``mmpretrain-vit`` the timm ViT whose
            shape it has). Defaults to None: the stock ResNet of a
            ResNet student's blocks, or the ``model.backbone.model_name``
            of the checkpoint's config.
        allow_mismatch (bool): Write a student that the stock model cannot
            load (for a model built with the student's own constructor
            arguments), with a warning. Defaults to False.

    Returns:
        dict: The tensors written.

    Raises:
        StockModelMismatchError: The stock model cannot load the result
            and ``allow_mismatch`` is False; nothing is written.
    """
    return export_loaded_student(
        load_checkpoint_file(src), src, dst, to, model_name, allow_mismatch)


def export_loaded_student(checkpoint: dict,
                          src: str,
                          dst: str,
                          to: str,
                          model_name: Optional[str] = None,
                          allow_mismatch: bool = False) -> StateDict:
    """Writes the student backbone of a loaded checkpoint for deployment.

    :func:`export_student` for a checkpoint in memory, e.g. the state of a
    running training (:class:`~disco_mm.engine.hooks.StudentExportHook`).

    Args:
        checkpoint (dict): ``{'state_dict': ...}`` with the student under
            ``backbone.*``, and optionally the Runner's ``meta['cfg']``.
        src (str): Where it comes from, for messages.
        dst, to, model_name, allow_mismatch: As :func:`export_student`.

    Returns:
        dict: The tensors written.

    Raises:
        CheckpointFormatError: No student backbone, or one that ``to``
            cannot take.
        StockModelMismatchError: As :func:`export_student`.
    """
    if to not in EXPORT_TARGETS:
        raise ValueError(f'to must be one of {EXPORT_TARGETS}, got {to!r}')
    backbone = student_backbone(state_dict_of(checkpoint), source=src)
    if to == 'mmpretrain':
        exported = backbone
    elif to == 'mmpretrain-vit':
        exported = mmpretrain_vit_weights(backbone, src)
    elif to == 'timm':
        exported = model_weights(backbone)
    else:
        exported = torchvision_resnet_weights(backbone, src, library=to)
    meta = dict(source=osp.basename(src), exported_to=to)
    if to != 'mmpretrain':
        meta['stock_model'] = check_stock_fit(exported, checkpoint, to, src,
                                              dst, model_name, allow_mismatch)
    if to == 'mmpretrain-vit':
        exported = rename(exported, [('', 'backbone.')])
    if to in ('mmpretrain', 'mmpretrain-vit', 'mmdet'):
        save_checkpoint_file(dict(meta=meta, state_dict=exported), dst)
    else:
        save_checkpoint_file(exported, dst)
    return exported
