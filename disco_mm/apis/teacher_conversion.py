"""Writing a teacher checkpoint of any supported format as a clean file."""
import argparse
import os
import os.path as osp
from typing import List, Optional, Tuple

import torch

from ..models.teachers.checkpoint_formats import (StateDict,
                                                  read_teacher_checkpoint)


def converter_parser(description: str) -> argparse.ArgumentParser:
    """Returns the parser every converter of ``tools/model_converters/``
    starts from: the source and the destination file.

    Args:
        description (str): The tool's help text (its module docstring).

    Returns:
        argparse.ArgumentParser: A parser with ``src`` and ``dst``.
    """
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='the checkpoint to read')
    parser.add_argument('dst', help='the file to write')
    return parser


def save_checkpoint_file(checkpoint: dict, path: str) -> None:
    """Saves a checkpoint, creating its folder.

    Args:
        checkpoint (dict): Tensors, or a dict with ``meta`` and
            ``state_dict``.
        path (str): The file to write.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(checkpoint, path)


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
            :data:`~disco_mm.models.teachers.FORMATS`.
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


def run_teacher_converter(description: str,
                          format: str,
                          argv: Optional[List[str]] = None) -> None:
    """Runs a converter whose command line is just ``src dst``.

    Args:
        description (str): The tool's help text (its module docstring).
        format (str): The format the tool reads.
        argv (list[str], optional): The arguments. Defaults to the command
            line's.
    """
    args = converter_parser(description).parse_args(argv)
    weights, _ = convert_teacher_checkpoint(args.src, args.dst, format)
    print(f'{args.dst}: {len(weights)} tensors of the {format} checkpoint '
          f'{args.src}')
