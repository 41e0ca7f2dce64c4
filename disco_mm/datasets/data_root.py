"""Checking that a config's training data exist, before anything is built."""
import os
import os.path as osp
from typing import Iterator, Tuple

from mmengine.config import Config


def _is_remote(path: str) -> bool:
    """Tells whether a path names a remote store (``s3://``, ...)."""
    return '://' in path


def _datasets(dataset, key: str) -> Iterator[Tuple[dict, str]]:
    """A dataset config and those it wraps, with their config keys."""
    if not isinstance(dataset, dict):
        return
    yield dataset, key
    yield from _datasets(dataset.get('dataset'), f'{key}.dataset')
    for index, inner in enumerate(dataset.get('datasets') or ()):
        yield from _datasets(inner, f'{key}.datasets.{index}')


def check_train_data_root(cfg: Config) -> None:
    """Refuses a training data set whose folder or list does not exist.

    The model, the teacher's checkpoint included, is built before the data
    set; a wrong ``data_root`` would otherwise show only then, as a bare
    ``FileNotFoundError`` from deep inside mmengine. Remote paths are left
    to their backends.

    Args:
        cfg (Config): The training config.

    Raises:
        FileNotFoundError: ``data_root`` is no folder, or ``ann_file`` no
            file; the message names the config key.
    """
    loader = cfg.get('train_dataloader') or {}
    for dataset, key in _datasets(loader.get('dataset'),
                                  'train_dataloader.dataset'):
        data_root = dataset.get('data_root') or ''
        if data_root and not _is_remote(data_root) and not osp.isdir(
                data_root):
            raise FileNotFoundError(
                f'{key}.data_root is {data_root!r}, which is no folder '
                f'(relative paths start from {os.getcwd()}): set it to the '
                f'folder of the training images, e.g. --cfg-options '
                f'{key}.data_root=data/my_images')
        ann_file = dataset.get('ann_file') or ''
        if not ann_file or _is_remote(ann_file) or _is_remote(data_root):
            continue
        path = osp.join(data_root, ann_file)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{key}.ann_file is {ann_file!r}, and {path!r} is no file: '
                f'set {key}.ann_file to the list of training images (relative '
                f'to {key}.data_root).')
