"""Fixes that make today's torch / numpy / setuptools stack run mmengine.

Every fix for the libraries below disco_mm lives here, is applied once when
``disco_mm`` is imported, and is covered by a test that fails without it:

* :func:`allow_mmengine_checkpoints` - torch >= 2.6 loads with
  ``weights_only=True``; mmengine's own checkpoints hold a few plain Python
  and numpy objects that the restricted unpickler refuses. They are allowed
  by name, so resume and ``load_from`` work while every file still loads with
  ``weights_only=True`` (no arbitrary code is ever unpickled).
* :func:`patch_package_lookup` - setuptools >= 82 removed ``pkg_resources``,
  which mmengine uses to resolve ``_base_ = 'mmpretrain::...'``.
* :func:`patch_adjust_hue` - under numpy 2, ``mmcv.adjust_hue`` raises
  ``OverflowError`` for every negative hue factor (half the samples of the
  MoCo-v2 colour jitter).
* :func:`silence_irrelevant_mmcv_warnings` - mmcv-lite warns at every import
  that a compiled attention op is missing, and mmcv at every colour jitter
  that an argument is pillow-only; neither concerns disco_mm.
* :func:`patch_scoped_dataloader_functions` - mmengine gives every
  ``type`` dict of a base config inherited as ``mmpretrain::...`` a
  ``_scope_`` key, and then passes that key on to the ``collate_fn`` (and
  ``worker_init_fn``) it calls: every ImageNet config stopped at its first
  batch with ``default_collate() got an unexpected keyword argument
  '_scope_'``. The function is now looked up in that scope instead; data
  loaders without such a key are built as before.

Checkpoint saving and resuming, and several processes on a machine without
a GPU, are no library fix: they are the
:class:`~disco_mm.engine.ReliableRunner` and
:class:`~disco_mm.engine.hooks.SafeCheckpointHook` that a config selects;
importing disco_mm leaves mmengine's Runner as it is.
"""
import copy
import importlib.metadata
import importlib.util
import os.path as osp
import pickle
import warnings

import numpy as np
import torch

#: The methods a ``HistoryBuffer`` pickles by name.
HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def _history_buffer_method(owner: type, name: str):
    """Stands in for ``getattr`` while a checkpoint is unpickled.

    mmengine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'min')``. Only such look-ups are answered;
    anything else a file asks ``getattr`` for is refused.
    """
    from mmengine.logging import HistoryBuffer

    if owner is HistoryBuffer and name in HISTORY_BUFFER_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Refusing getattr({owner!r}, {name!r}) while loading a checkpoint: '
        'only the statistics methods of mmengine.logging.HistoryBuffer are '
        'allowed.')


def allow_mmengine_checkpoints() -> None:
    """Allows the data objects mmengine writes into its checkpoints.

    An mmengine checkpoint stores its logging state (``HistoryBuffer`` with
    numpy arrays and scalars, and its statistics methods) next to the
    tensors. These hold data only and are added to torch's safe globals;
    ``getattr`` is answered only for ``HistoryBuffer``'s methods. Anything
    else in a file (a pickled class that runs code) is still refused by
    ``weights_only=True``.
    """
    from mmengine.logging import HistoryBuffer

    multiarray = np._core.multiarray if hasattr(np, '_core') else (
        np.core.multiarray)
    numpy_globals = [
        np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar
    ]
    numpy_globals += [
        type(np.dtype(scalar_type))
        for scalar_type in set(np.sctypeDict.values())
    ]
    torch.serialization.add_safe_globals([
        HistoryBuffer, *numpy_globals,
        (_history_buffer_method, 'builtins.getattr'),
        (_history_buffer_method, '__builtin__.getattr')
    ])


def _distribution_top_level(package: str):
    """Returns the import name of distribution ``package``, or None."""
    try:
        distribution = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    top_level = distribution.read_text('top_level.txt')
    if top_level and top_level.split():
        return top_level.split()[0]
    return package.replace('-', '_')


def is_installed(package: str) -> bool:
    """Tells whether ``package`` is installed or importable.

    The ``importlib`` replacement of mmengine's ``pkg_resources`` version.

    Args:
        package (str): A distribution or module name.

    Returns:
        bool: True when the package can be found.
    """
    if _distribution_top_level(package) is not None:
        return True
    spec = importlib.util.find_spec(package)
    return spec is not None and spec.origin is not None


def get_installed_path(package: str) -> str:
    """Returns the folder of an installed package.

    The ``importlib`` replacement of mmengine's ``pkg_resources`` version.

    Args:
        package (str): A distribution or module name, e.g. ``'mmpretrain'``.

    Returns:
        str: The package's folder.
    """
    module_name = _distribution_top_level(package) or package
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f'{package} is not installed')
    return osp.dirname(spec.origin)


def patch_package_lookup() -> None:
    """Points mmengine's package look-ups to :mod:`importlib` ones."""
    import mmengine.config.config as config_module
    import mmengine.utils
    import mmengine.utils.package_utils as package_utils

    for module in (config_module, mmengine.utils, package_utils):
        module.is_installed = is_installed
        module.get_installed_path = get_installed_path


def adjust_hue(img: np.ndarray, hue_factor: float, backend=None):
    """``mmcv.adjust_hue`` with a hue rotation that numpy 2 accepts.

    mmcv adds ``np.uint8(hue_factor * 255)`` to the hue channel, which numpy 2
    refuses for a negative factor. Here the shift is wrapped into [0, 255]
    first; the uint8 addition then rotates the hue exactly as mmcv means.

    Args:
        img (np.ndarray): A BGR image, HxWx3.
        hue_factor (float): Hue shift in [-0.5, 0.5].
        backend (str, optional): ``'cv2'`` or ``'pillow'``. Defaults to
            mmcv's image backend.

    Returns:
        np.ndarray: The hue-adjusted image, of the input's dtype.
    """
    import cv2
    import mmcv.image.io
    from PIL import Image

    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f'hue_factor {hue_factor} is not in [-0.5, 0.5].')
    backend = backend or mmcv.image.io.imread_backend
    shift = np.uint8(int(hue_factor * 255) % 256)
    if backend == 'pillow':
        hue, saturation, value = Image.fromarray(
            np.ascontiguousarray(img[..., ::-1]).astype(np.uint8),
            'RGB').convert('HSV').split()
        hue = Image.fromarray(np.asarray(hue, dtype=np.uint8) + shift, 'L')
        rgb = Image.merge('HSV', (hue, saturation, value)).convert('RGB')
        return np.asarray(rgb, dtype=img.dtype)[..., ::-1]
    hsv = cv2.cvtColor(img.astype(np.uint8), cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] += shift
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL).astype(img.dtype)


def patch_adjust_hue() -> None:
    """Installs :func:`adjust_hue` wherever mmcv exposes it."""
    import mmcv
    import mmcv.image
    import mmcv.image.photometric

    for module in (mmcv, mmcv.image, mmcv.image.photometric):
        module.adjust_hue = adjust_hue


def silence_irrelevant_mmcv_warnings() -> None:
    """Hides mmcv warnings that say nothing about disco_mm's work.

    mmcv-lite warns at every import that a compiled attention op is
    missing, and mmcv's contrast adjustment warns on every call that its
    ``alpha`` argument is pillow-only (mmpretrain's ColorJitter passes it).
    """
    warnings.filterwarnings(
        'ignore', message='Fail to import ``MultiScaleDeformableAttention``')
    warnings.filterwarnings(
        'ignore', message="Only use 'alpha' for pillow backend")


#: The data loader entries mmengine builds as ``partial(function, **rest)``.
DATALOADER_FUNCTION_KEYS = ('collate_fn', 'worker_init_fn')


def resolve_scoped_functions(dataloader_cfg: dict) -> dict:
    """Turns a ``_scope_``-tagged function entry into the function itself.

    Args:
        dataloader_cfg (dict): A data loader config as mmengine's
            ``Runner.build_dataloader`` takes it.

    Returns:
        dict: A copy in which each ``collate_fn`` / ``worker_init_fn`` dict
        that carries ``_scope_`` has that key removed and its ``type`` name
        replaced by the function registered under it in that scope; the
        input when there is nothing to resolve.
    """
    from mmengine.registry import FUNCTIONS

    scoped = [
        key for key in DATALOADER_FUNCTION_KEYS
        if isinstance(dataloader_cfg.get(key), dict)
        and '_scope_' in dataloader_cfg[key]
    ]
    if not scoped:
        return dataloader_cfg
    dataloader_cfg = copy.deepcopy(dataloader_cfg)
    for key in scoped:
        entry = dict(dataloader_cfg[key])
        scope = entry.pop('_scope_')
        if isinstance(entry['type'], str):
            with FUNCTIONS.switch_scope_and_registry(scope) as registry:
                function = registry.get(entry['type'])
            if function is None:
                raise KeyError(
                    f'{key}={entry["type"]!r} is not a registered function '
                    f'in scope {scope!r}.')
            entry['type'] = function
        dataloader_cfg[key] = entry
    return dataloader_cfg


def patch_scoped_dataloader_functions() -> None:
    """Makes mmengine build data loaders from inherited ``mmpretrain::`` bases.

    Only configs whose ``collate_fn`` / ``worker_init_fn`` carry ``_scope_``
    (which mmengine itself adds, and then cannot call) are changed.
    """
    from mmengine.runner import Runner

    build_dataloader = Runner.build_dataloader
    if getattr(build_dataloader, 'resolves_scoped_functions', False):
        return

    def build_dataloader_resolving_scopes(dataloader, *args, **kwargs):
        if isinstance(dataloader, dict):
            dataloader = resolve_scoped_functions(dataloader)
        return build_dataloader(dataloader, *args, **kwargs)

    build_dataloader_resolving_scopes.resolves_scoped_functions = True
    Runner.build_dataloader = staticmethod(build_dataloader_resolving_scopes)


def apply_all() -> None:
    """Applies every fix of this module; importing disco_mm calls it."""
    silence_irrelevant_mmcv_warnings()
    allow_mmengine_checkpoints()
    patch_package_lookup()
    patch_adjust_hue()
    patch_scoped_dataloader_functions()
