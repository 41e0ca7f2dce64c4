"""One checkpoint file: loaded safely, saved, hashed, its keys shown.

Every module of :mod:`disco_mm.checkpoints` reads and writes files through
these functions. Every file is loaded with ``weights_only=True``: a file
that needs code to unpickle is refused with the command that makes a
tensors-only copy.
"""
import hashlib
import os
import os.path as osp
import pickle
from typing import Any, Dict, Iterator, Optional, Sequence, Tuple

import torch

#: How many keys an error message shows of a checkpoint it cannot read.
MAX_KEYS_SHOWN = 8

#: The command that makes a tensors-only copy of a checkpoint one trusts.
WEIGHTS_ONLY_CONVERTER = 'tools/model_converters/to_weights_only.py'

#: Bytes read at a time while hashing.
HASH_CHUNK_BYTES = 1 << 20

StateDict = Dict[str, torch.Tensor]
#: ``(old prefix, new prefix)``; a new prefix of None drops the keys.
RenameRule = Tuple[str, Optional[str]]


class CheckpointFormatError(ValueError):
    """A checkpoint cannot be read safely or in the layout asked for."""


def load_checkpoint_file(path: str) -> dict:
    """Loads a checkpoint with ``weights_only=True`` on the CPU.

    Args:
        path (str): The file.

    Returns:
        dict: The loaded object.

    Raises:
        CheckpointFormatError: The file holds objects that only load by
            running code from it; the message says how to copy its tensors.
    """
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message goes on to suggest weights_only=False; the line
        # naming the refused object is the one that matters here.
        reason = next((line.strip() for line in str(error).splitlines()
                       if 'Unsupported global' in line), str(error))
        raise CheckpointFormatError(
            f'Checkpoint {path} holds objects that only load by running '
            'code from the file, which disco_mm never does. If you trust '
            'the file, save a tensors-only copy once and use the copy:\n'
            f'  python {WEIGHTS_ONLY_CONVERTER} {path} COPY.pth\n'
            f'({reason})') from error


def save_checkpoint_file(checkpoint: dict, path: str) -> None:
    """Saves a checkpoint, creating its folder.

    Args:
        checkpoint (dict): Tensors, or a dict with ``meta`` and
            ``state_dict``.
        path (str): The file to write.
    """
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(checkpoint, path)


def state_dict_of(checkpoint: dict) -> StateDict:
    """Returns the tensors of a checkpoint's ``state_dict`` or of the file.

    Tensors in nested dictionaries are kept under their path: the
    ``teacher`` entry of a DINO training checkpoint gives
    ``teacher.backbone.cls_token``, ...

    Args:
        checkpoint (dict): A loaded checkpoint: a state dict, or a dict with
            the state dict under ``'state_dict'``.

    Returns:
        dict: Every tensor entry, by key.

    Raises:
        CheckpointFormatError: The file holds no dictionary.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointFormatError(
            f'A checkpoint must hold a dict of tensors, not a '
            f'{type(checkpoint).__name__}.')
    return dict(_tensors_in(checkpoint.get('state_dict', checkpoint)))


def _tensors_in(tree: dict, prefix: str = '') -> Iterator[Tuple[str, Any]]:
    """Yields ``(path, tensor)`` for every tensor in nested dictionaries."""
    for key, value in tree.items():
        if isinstance(value, torch.Tensor):
            yield f'{prefix}{key}', value
        elif isinstance(value, dict):
            yield from _tensors_in(value, f'{prefix}{key}.')


def file_sha256(path: str) -> str:
    """Returns the SHA-256 of a file as 64 hex digits.

    Args:
        path (str): The file.

    Returns:
        str: Its SHA-256, as ``sha256sum`` prints it.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(HASH_CHUNK_BYTES), b''):
            digest.update(chunk)
    return digest.hexdigest()


def first_keys(keys: Sequence[str]) -> str:
    """Formats the first few keys of a checkpoint for an error message."""
    keys = list(keys)
    shown = ', '.join(keys[:MAX_KEYS_SHOWN])
    return shown + (f', ... ({len(keys)} keys)'
                    if len(keys) > MAX_KEYS_SHOWN else '')


def rename(state: StateDict, rules: Sequence[RenameRule]) -> StateDict:
    """Renames keys by the first rule whose old prefix they start with.

    Keys that match no rule, and keys whose rule has no new prefix, are
    left out.

    Args:
        state (dict): The state dict to read.
        rules (list[tuple]): ``(old prefix, new prefix or None)`` pairs.

    Returns:
        dict: The renamed entries.
    """
    renamed = {}
    for key, value in state.items():
        for old, new in rules:
            if key.startswith(old):
                if new is not None:
                    renamed[new + key[len(old):]] = value
                break
    return renamed


def has_prefix(keys: Sequence[str], prefix: str) -> bool:
    """Tells whether any key starts with ``prefix``."""
    return any(key.startswith(prefix) for key in keys)
