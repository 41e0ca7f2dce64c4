"""A trained student rebuilt for frozen-feature evaluation, and its data."""
import copy
import os.path as osp
from typing import Dict

from mmengine.config import Config
from mmpretrain.registry import MODELS
from torch import nn

from ..checkpoints.files import (CheckpointFormatError, first_keys,
                                 load_checkpoint_file, state_dict_of)
from ..compat import get_installed_path

#: The query loader's key in a config, in order of preference.
QUERY_KEYS = ('eval_test_dataloader', 'val_dataloader', 'test_dataloader')


def read_config(path: str) -> Config:
    """Reads a config file, also one named as ``package::relative/path.py``.

    Args:
        path (str): A config file, or a config shipped with an OpenMMLab
            package, e.g. ``mmpretrain::_base_/datasets/imagenet_bs32.py``.

    Returns:
        Config: The config.
    """
    if '::' in path:
        package, relative = path.split('::', 1)
        path = osp.join(get_installed_path(package), '.mim', 'configs',
                        relative)
    return Config.fromfile(path)


def eval_loader_configs(cfg: Config, source: str) -> Dict[str, dict]:
    """Finds the bank and query loader configs in a data config.

    Args:
        cfg (Config): The data config.
        source (str): Its path, for the error message.

    Returns:
        dict: ``'bank'`` and ``'query'`` data loader configs. A loader
        without a ``collate_fn`` gets ``default_collate``, as in
        mmpretrain's tools (mmengine's fallback hands the model a list).

    Raises:
        KeyError: The config has no such pair of loaders.
    """
    query_key = next((key for key in QUERY_KEYS if cfg.get(key)), None)
    if query_key == 'eval_test_dataloader' and cfg.get(
            'eval_train_dataloader'):
        loaders = dict(
            bank=copy.deepcopy(cfg.eval_train_dataloader),
            query=copy.deepcopy(cfg.eval_test_dataloader))
    elif query_key is None or not cfg.get('train_dataloader'):
        raise KeyError(
            f'{source} has no bank and query loaders: it needs '
            'eval_train_dataloader and eval_test_dataloader, or '
            'train_dataloader and val_dataloader (or test_dataloader). Pass '
            'one with --data-config, e.g. '
            'configs/_base_/datasets/digits_eval.py.')
    else:
        query = copy.deepcopy(cfg[query_key])
        bank = copy.deepcopy(cfg.train_dataloader)
        bank.dataset.pipeline = copy.deepcopy(query.dataset.pipeline)
        bank.sampler = dict(type='DefaultSampler', shuffle=False)
        bank.drop_last = False
        loaders = dict(bank=bank, query=query)
    for loader in loaders.values():
        loader.setdefault('collate_fn', dict(type='default_collate'))
    return loaders


def _build_student(cfg: Config) -> nn.Module:
    """Builds the student's preprocessor, backbone and projector.

    The teacher, momentum encoder and head are left out: they play no part
    in the student's features.

    Args:
        cfg (Config): The model config.

    Returns:
        nn.Module: A module with ``data_preprocessor``, ``backbone`` and
        ``neck``, as :func:`extract_frozen_features` wants.
    """
    student = nn.Module()
    preprocessor = cfg.model.get('data_preprocessor') or cfg.get(
        'data_preprocessor') or dict(type='SelfSupDataPreprocessor')
    student.data_preprocessor = MODELS.build(preprocessor)
    student.backbone = MODELS.build(cfg.model.backbone)
    student.neck = MODELS.build(cfg.model.neck)
    return student


def _load_student(student: nn.Module, path: str, feature: str) -> None:
    """Loads a checkpoint's ``backbone.*`` (and ``neck.*``) into the student.

    Args:
        student (nn.Module): The output of :func:`_build_student`.
        path (str): A disco_mm training checkpoint or exported backbone.
        feature (str): ``'pooled'`` or ``'embeddings'``; the latter needs the
            projector (``neck.*``).

    Raises:
        CheckpointFormatError: The checkpoint lacks the student's backbone
            (or the projector the feature needs), or its shapes differ from
            the config's.
    """
    state = state_dict_of(load_checkpoint_file(path))
    parts = ('backbone.', 'neck.') if feature == 'embeddings' else (
        'backbone.', )
    state = {
        key: value
        for key, value in state.items() if key.startswith(parts)
    }
    expected = [
        key for key in student.state_dict() if key.startswith(parts)
    ]
    missing = [key for key in expected if key not in state]
    if missing:
        raise CheckpointFormatError(
            f'{path} lacks {len(missing)} of the student\'s entries under '
            f'{" and ".join(parts)} '
            f'(first: {first_keys(missing)}). Use a disco_mm training '
            'checkpoint or a backbone exported with '
            'tools/model_converters/extract_student.py --to mmpretrain, with '
            'the config it was trained with' +
            ('; --feature embeddings also needs the projector (neck.*), '
             'which exported backbones lack' if feature == 'embeddings' else
             '') + '.')
    try:
        student.load_state_dict(state, strict=False)
    except RuntimeError as error:
        raise CheckpointFormatError(
            f'{path} does not fit the config\'s student: {error}') from error


def frozen_student(cfg: Config,
                   checkpoint: str,
                   feature: str = 'pooled',
                   device: str = 'cpu') -> nn.Module:
    """Rebuilds a trained student from its config and checkpoint.

    Args:
        cfg (Config): The config it was trained with.
        checkpoint (str): A disco_mm training checkpoint or an exported
            backbone (``backbone.*`` only).
        feature (str): ``'pooled'`` or ``'embeddings'``: what it is
            evaluated on; the latter needs the projector. Defaults to
            ``'pooled'``.
        device (str): Where it runs. Defaults to ``'cpu'``.

    Returns:
        nn.Module: The student in eval mode, as
        :func:`~disco_mm.evaluation.extract_frozen_features` takes it.
    """
    student = _build_student(cfg)
    _load_student(student, checkpoint, feature)
    student.to(device)
    student.data_preprocessor.to(device)
    return student.eval()
