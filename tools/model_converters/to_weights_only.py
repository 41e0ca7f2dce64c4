"""Makes a tensors-only copy of a checkpoint that you trust.

disco_mm loads every checkpoint with ``torch.load(weights_only=True)`` and
refuses a file that holds other Python objects (an ``argparse.Namespace``,
a pickled model or optimizer class): unpickling them runs code from the
file. This tool loads such a file once with ``weights_only=False`` - run it
only on files from a source you trust - and writes a copy that keeps the
tensors, numbers and strings in their dicts and lists, replaces a pickled
``nn.Module`` by its state dict and leaves out every other object (listed
on the screen). The copy loads with
``weights_only=True`` everywhere.

Example:
    python tools/model_converters/to_weights_only.py trusted.pth copy.pth
"""
from typing import Any, List, Tuple

import numpy as np
import torch

from disco_mm.apis import converter_parser
from disco_mm.checkpoints import save_checkpoint_file

#: What a weights_only file may hold besides containers.
PLAIN_TYPES = (torch.Tensor, int, float, str, bool, type(None))


def plain_copy(value: Any, path: str, dropped: List[Tuple[str, str]]) -> Any:
    """Returns ``value`` without objects other than tensors and plain data.

    Args:
        value: A loaded object.
        path (str): Where ``value`` is in the checkpoint, e.g.
            ``"['args']"``.
        dropped (list): Receives ``(path, type name)`` of every object left
            out.

    Returns:
        The copy; None for an object left out (the caller skips it).
    """
    if isinstance(value, np.generic):
        # a numpy scalar (np.float64 even passes for a float) pickles as a
        # numpy object, which weights_only refuses: keep its Python value
        value = value.item()
    if isinstance(value, PLAIN_TYPES):
        return value
    if isinstance(value, torch.nn.Module):
        value = value.state_dict()
    if isinstance(value, dict):
        copy = {}
        for key, item in value.items():
            kept = plain_copy(item, f'{path}[{key!r}]', dropped)
            if kept is not None or item is None:
                copy[key] = kept
        return copy
    if isinstance(value, (list, tuple)):
        items = [
            plain_copy(item, f'{path}[{index}]', dropped)
            for index, item in enumerate(value)
        ]
        return type(value)(items)
    dropped.append((path, type(value).__name__))
    return None


def main(argv=None) -> None:
    """Writes the tensors-only copy of ``src`` to ``dst``."""
    args = converter_parser(__doc__).parse_args(argv)
    loaded = torch.load(args.src, map_location='cpu', weights_only=False)
    dropped: List[Tuple[str, str]] = []
    save_checkpoint_file(plain_copy(loaded, '', dropped), args.dst)
    for path, type_name in dropped:
        print(f'left out {path or "the whole file"}: {type_name}')
    print(f'{args.dst}: a copy that loads with weights_only=True')


if __name__ == '__main__':
    main()
