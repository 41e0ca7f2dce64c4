"""A teacher checkpoint of any supported format: read, or written clean.

:class:`FrozenTeacher` reads its checkpoint through
:func:`read_teacher_checkpoint`, and the teacher converters of
``tools/model_converters/`` write the same dictionaries to files with
:func:`convert_teacher_checkpoint`, so a file loads the same way directly
or converted.
"""
import os.path as osp
from typing import Mapping, Optional, Tuple

import torch
from mmengine.logging import print_log

from .files import (CheckpointFormatError, StateDict, first_keys, has_prefix,
                    load_checkpoint_file, rename, save_checkpoint_file,
                    state_dict_of)
from .formats import FORMATS, to_disco_mm


def read_projector(path: str) -> StateDict:
    """Reads a projector saved apart from its backbone.

    Args:
        path (str): A file whose state dict holds ``neck.*`` entries (e.g.
            a converted teacher checkpoint), or the projector module's own
            state dict (``mlp.0.weight``, ...).

    Returns:
        dict: The projector under ``neck.*``.
    """
    state = state_dict_of(load_checkpoint_file(path))
    if has_prefix(state, 'neck.'):
        return rename(state, [('neck.', 'neck.')])
    return rename(state, [('', 'neck.')])


def read_teacher_checkpoint(
        path: str,
        format: str = 'auto',
        projector_checkpoint: Optional[str] = None,
        teacher_weights: Optional[Mapping[str, torch.Tensor]] = None,
        **read_options) -> Tuple[StateDict, str]:
    """Reads a teacher's weights from any supported file.

    Args:
        path (str): The teacher checkpoint.
        format (str): Its format (a key of :data:`FORMATS`) or ``'auto'``.
            Defaults to ``'auto'``.
        projector_checkpoint (str, optional): A file with the projector
            (see :func:`read_projector`); it replaces any projector of
            ``path``. Defaults to None.
        teacher_weights (Mapping[str, torch.Tensor], optional): The
            teacher's own tensors (``backbone.*``, ``neck.*``); when given,
            a ViT's position embedding is resized to the teacher's grid as
            the format's code does it, and the format, the files and how
            many of their tensors the teacher takes and ignores are logged.
            Defaults to None.
        **read_options: Options of the format's reader (see
            :func:`to_disco_mm`).

    Returns:
        tuple[dict, str]: ``backbone.*`` / ``neck.*`` tensors and the
        format ``path`` was read as.
    """
    state = state_dict_of(load_checkpoint_file(path))
    weights, read_as = to_disco_mm(state, format, path, teacher_weights,
                                   **read_options)
    file_tensors = len(state)
    if projector_checkpoint:
        projector = read_projector(projector_checkpoint)
        file_tensors += len(projector)
        weights = {
            **rename(weights, [('backbone.', 'backbone.')]),
            **projector
        }
    if teacher_weights is not None:
        taken = len(set(teacher_weights) & set(weights))
        how = 'detected from its keys' if format == 'auto' else 'as named'
        files = path + (f' (projector: {projector_checkpoint})'
                        if projector_checkpoint else '')
        print_log(
            f'Teacher checkpoint {files}: format {read_as!r} ({how}: '
            f'{FORMATS[read_as].description}); {taken} tensors loaded of '
            f"the teacher's {len(teacher_weights)}, {file_tensors - taken} of "
            f'the {file_tensors} in the file ignored.',
            logger='current')
    return weights, read_as


#: Where a MoCo checkpoint keeps its queue of keys (``dim x length``) and
#: the queue's write position: the official code's DDP names first, then
#: mmpretrain's.
MOCO_QUEUE_KEYS = (('module.queue', 'module.queue_ptr'), ('queue',
                                                          'queue_ptr'))


def read_teacher_queue(path: str) -> Tuple[torch.Tensor, int]:
    """Reads the queue of keys that a MoCo teacher was trained with.

    Args:
        path (str): A MoCo checkpoint (the official code's, or mmpretrain's
            ``MoCo``), whose queue holds one key per column.

    Returns:
        tuple[torch.Tensor, int]: The keys, one per row (``length x dim``),
        and the row the next keys would have been written to.

    Raises:
        CheckpointFormatError: The file has no MoCo queue.
    """
    state = state_dict_of(load_checkpoint_file(path))
    for queue_key, pointer_key in MOCO_QUEUE_KEYS:
        if queue_key in state and pointer_key in state:
            return state[queue_key].t().contiguous(), int(state[pointer_key])
    raise CheckpointFormatError(
        f'{path} holds no MoCo queue: none of ' +
        ', '.join(f'{queue!r} with {pointer!r}'
                  for queue, pointer in MOCO_QUEUE_KEYS) +
        f' among its keys ({first_keys(list(state))}). Only a MoCo teacher '
        'checkpoint has the queue that model.queue_from_teacher copies.')


def convert_teacher_checkpoint(src: str,
                               dst: str,
                               format: str = 'auto',
                               projector_checkpoint: Optional[str] = None,
                               **read_options) -> Tuple[StateDict, str]:
    """Reads a teacher checkpoint and writes it in disco_mm's layout.

    The file written holds ``{'meta': ..., 'state_dict': {backbone.*,
    neck.*}}``: :class:`FrozenTeacher` reads it as format ``mmpretrain``,
    and mmpretrain's configs load its backbone through the backbone's
    ``init_cfg=dict(type='Pretrained', prefix='backbone.')``.

    Args:
        src (str): The teacher checkpoint, in any format of
            :data:`~disco_mm.checkpoints.FORMATS`.
        dst (str): The file to write.
        format (str): The format of ``src``, or ``'auto'`` to detect it.
            Defaults to ``'auto'``.
        projector_checkpoint (str, optional): A file with the projector,
            which replaces any projector of ``src``. Defaults to None.
        **read_options: Options of the format's reader (``part`` for
            ``disco_official``, ``classifier`` for ``timm``).

    Returns:
        tuple[dict, str]: The tensors written and the format ``src`` was
        read as.
    """
    weights, read_as = read_teacher_checkpoint(src, format,
                                               projector_checkpoint,
                                               **read_options)
    meta = dict(source=osp.basename(src), format=read_as, **read_options)
    save_checkpoint_file(dict(meta=meta, state_dict=weights), dst)
    return weights, read_as
