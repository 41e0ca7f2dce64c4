"""Which checkpoint of a work dir a resume can trust.

A checkpoint is intact when it loads and its SHA-256 matches the one saved
beside it (see :mod:`~disco_mm.checkpoints.atomic`).
``work_dir/last_checkpoint`` names the newest checkpoint relative to the
work dir, so a work dir that is copied or moved still resumes.
"""
import glob
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

import torch

from .atomic import (CHECKSUM_SUFFIX, is_local, recorded_checksum,
                     write_text_atomically)
from .files import file_sha256

#: The names the CheckpointHook gives training checkpoints.
TRAINING_CHECKPOINT_NAME = re.compile(r'(epoch|iter)_\d+\.pth')
#: The file in the work dir that names the newest checkpoint.
POINTER_NAME = 'last_checkpoint'


def read_meta(filename: str) -> dict:
    """Reads a checkpoint's ``meta`` without reading its tensors.

    The file is memory-mapped, so only its index and pickled structure are
    read.

    Args:
        filename (str): A checkpoint written by ``torch.save``.

    Returns:
        dict: Its ``meta`` (``epoch``, ``iter``, ...).
    """
    checkpoint = torch.load(
        filename, map_location='cpu', weights_only=True, mmap=True)
    return checkpoint['meta']


def checkpoint_problem(filename: str) -> Optional[str]:
    """Says why a checkpoint cannot be resumed, or None when it can.

    A checkpoint is intact when its SHA-256 matches the one written beside
    it and its ``meta`` can be read. A checkpoint without a checksum file
    (written by mmengine alone) only has to be readable.

    Args:
        filename (str): The checkpoint.

    Returns:
        str or None: The problem, e.g. ``'empty (0 bytes)'``.
    """
    if not osp.isfile(filename):
        return 'missing' if not osp.isdir(filename) else 'a directory'
    size = osp.getsize(filename)
    if size == 0:
        return 'empty (0 bytes)'
    try:
        read_meta(filename)
    except Exception as error:  # torch raises RuntimeError, EOFError, ...
        first_line = str(error).strip().splitlines()[0] if str(
            error).strip() else ''
        return (f'unreadable, truncated or damaged ({size} bytes; '
                f'{type(error).__name__}: {first_line})')
    expected = recorded_checksum(filename)
    if expected is not None:
        actual = file_sha256(filename)
        if actual != expected:
            return (f'its SHA-256 is {actual}, not the {expected} written '
                    f'beside it in {osp.basename(filename)}{CHECKSUM_SUFFIX} '
                    f'(the file of {size} bytes was damaged or replaced '
                    'after it was saved)')
    return None


def write_pointer(work_dir: str, filename: str) -> None:
    """Names ``filename`` in ``work_dir/last_checkpoint``.

    A local path is written relative to the work dir when the checkpoint
    is in it, so that the work dir can be copied or moved; others are
    written as they are.

    Args:
        work_dir (str): The run's work dir.
        filename (str): The newest checkpoint.
    """
    named = filename
    if is_local(filename):
        path = osp.abspath(filename)
        relative = osp.relpath(path, osp.abspath(work_dir))
        named = path if relative.startswith(os.pardir) else relative
    write_text_atomically(osp.join(work_dir, POINTER_NAME), named)


def read_pointer(work_dir: str) -> Optional[str]:
    """Returns the checkpoint ``work_dir/last_checkpoint`` names, or None.

    Relative paths are relative to the work dir; absolute ones (written by
    mmengine) are kept.
    """
    pointer = osp.join(work_dir, POINTER_NAME)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as file:
        named = file.read().strip()
    return osp.join(work_dir, named) if named else None


def iteration_of(filename: str) -> int:
    """Returns the iteration a readable checkpoint was saved after."""
    return int(read_meta(filename)['iter'])


def newest_intact_checkpoint(
        work_dir: str) -> Tuple[Optional[str], List[Tuple[str, str]]]:
    """Finds the checkpoint an automatic resume should continue.

    The candidates are the ``epoch_*.pth`` / ``iter_*.pth`` of the work dir
    and the file ``last_checkpoint`` names (which may lie outside it). They
    are ordered by the iteration saved in them, not by file times (a copy
    changes those) nor by ``last_checkpoint`` alone; the newest intact one
    is chosen. Temporary files of an interrupted save never count.

    Args:
        work_dir (str): The run's work dir.

    Returns:
        tuple: The checkpoint (None when no intact one exists) and the
        newer or unreadable files passed over, each with its problem.
    """
    candidates = {
        osp.abspath(path)
        for path in glob.glob(osp.join(glob.escape(work_dir), '*.pth'))
        if TRAINING_CHECKPOINT_NAME.fullmatch(osp.basename(path))
    }
    named = read_pointer(work_dir)
    if named is not None and osp.isfile(named):
        candidates.add(osp.abspath(named))
    passed_over = []
    readable = []
    for path in sorted(candidates):
        try:
            readable.append((iteration_of(path), path))
        except Exception:  # the reason is found again below
            passed_over.append((path, checkpoint_problem(path) or
                                'unreadable'))
    for _, path in sorted(readable, reverse=True):
        problem = checkpoint_problem(path)
        if problem is None:
            return path, passed_over
        passed_over.append((path, problem))
    return None, passed_over
