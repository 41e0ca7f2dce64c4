"""Shrinking the queues of a config's model for small test runs."""
from typing import List


def queue_names(model_cfg) -> List[str]:
    """Names of the model's :class:`EmbeddingQueue` entries, e.g. ``queue``.

    Args:
        model_cfg (dict): A config's ``model``.
    """
    return [
        name for name, part in model_cfg.items()
        if isinstance(part, dict) and part.get('type') == 'EmbeddingQueue'
    ]


def shrink_queues(model_cfg, length: int) -> None:
    """Sets the length of every queue of ``model_cfg`` in place."""
    for name in queue_names(model_cfg):
        model_cfg[name]['length'] = length


def queue_options(model_cfg, length: int) -> List[str]:
    """``--cfg-options`` giving every queue of the model ``length`` keys."""
    return [f'model.{name}.length={length}' for name in queue_names(model_cfg)]
