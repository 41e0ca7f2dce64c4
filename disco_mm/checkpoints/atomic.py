"""Training checkpoints that are complete or absent, each with its checksum.

A checkpoint ``iter_8.pth`` is written as ``iter_8.pth.tmp``, flushed to
disk and renamed; beside it, ``iter_8.pth.sha256`` holds its SHA-256 in
``sha256sum`` format (``sha256sum -c iter_8.pth.sha256`` checks it by hand).
:class:`~disco_mm.engine.ReliableRunner` saves through
:func:`complete_checkpoint`; :mod:`~disco_mm.checkpoints.resume` checks the
checksums when it chooses what to resume.
"""
import os
import os.path as osp
from typing import Optional

from .files import file_sha256

#: What a checkpoint is written to before it is complete.
TEMPORARY_SUFFIX = '.tmp'

#: The file beside each checkpoint that holds its SHA-256.
CHECKSUM_SUFFIX = '.sha256'


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
