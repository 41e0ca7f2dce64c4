"""Checkpoint files that are complete or absent, each with its checksum.

A checkpoint ``iter_8.pth`` is written as ``iter_8.pth.tmp``, flushed to
disk and renamed; beside it, ``iter_8.pth.sha256`` holds its SHA-256 in
``sha256sum`` format (``sha256sum -c iter_8.pth.sha256`` checks it by hand).
``work_dir/last_checkpoint`` names the newest checkpoint relative to the
work dir, so a work dir that is copied or moved still resumes.
"""
import glob
import os
import os.path as osp
import re
from typing import List, Optional, Tuple

import torch

from ..checksums import file_sha256

#: The names the CheckpointHook gives training checkpoints.
TRAINING_CHECKPOINT_NAME = re.compile(r'(epoch|iter)_\d+\.pth')
#: What a checkpoint is written to before it is complete.
TEMPORARY_SUFFIX = '.tmp'
#: The file beside each checkpoint that holds its SHA-256.
CHECKSUM_SUFFIX = '.sha256'
#: The file in the work dir that names the newest checkpoint.
POINTER_NAME = 'last_checkpoint'


def is_local(path: str) -> bool:
    """Tells whether ``path`` is on the local file system (not ``s3://``)."""
    return '://' not in str(path)


def _sync_folder(folder: str) -> None:
    """Flushes a folder's entries (a rename) to disk where the OS can."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_text_atomically(path: str, text: str) -> None:
    """Writes a small text file so that it holds ``text`` or its old text.

    Args:
        path (str): The file.
        text (str): Its new content.
    """
    temporary = path + TEMPORARY_SUFFIX
    with open(temporary, 'w') as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)


def complete_checkpoint(temporary: str, filename: str) -> str:
    """Turns a written temporary file into the checkpoint ``filename``.

    The temporary file is flushed to disk and hashed, the checksum file is
    written, and only then is the temporary file renamed: a checkpoint name
    never stands for an incomplete file, and every checkpoint has its
    checksum beside it.

    Args:
        temporary (str): The fully written temporary file.
        filename (str): The checkpoint's final path.

    Returns:
        str: The checkpoint's SHA-256.
    """
    with open(temporary, 'rb') as file:
        os.fsync(file.fileno())
    checksum = file_sha256(temporary)
    write_text_atomically(filename + CHECKSUM_SUFFIX,
                          f'{checksum}  {osp.basename(filename)}\n')
    os.replace(temporary, filename)
    _sync_folder(osp.dirname(osp.abspath(filename)))
    return checksum


def remove_checkpoint(filename: str) -> None:
    """Removes a checkpoint and its checksum file, where they exist."""
    for path in (filename, filename + CHECKSUM_SUFFIX):
        if osp.isfile(path):
            os.remove(path)


def recorded_checksum(filename: str) -> Optional[str]:
    """Returns the SHA-256 written beside ``filename``, or None."""
    checksum_file = filename + CHECKSUM_SUFFIX
    if not osp.isfile(checksum_file):
        return None
    with open(checksum_file) as file:
        fields = file.read().split()
    return fields[0] if fields else ''


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
