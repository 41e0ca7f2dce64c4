"""disco_mm.compat: each fix is checked where the stock stack fails."""
import collections
import importlib.util
import math
import os
import os.path as osp
import pickle
import sys

import cv2
import mmcv
import mmcv.image.photometric
import mmpretrain
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader
from mmpretrain.registry import TRANSFORMS
from PIL import Image

from disco_mm import compat
from disco_mm.datasets import Digits

MOCOV2_VIEWS = 'mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py'


class CodeOnLoad:
    """A class only this module defines; unpickling it would import code."""

    def __init__(self):
        self.value = 1


class GetattrOnLoad:
    """Unpickles as ``getattr(owner, name)``, as a crafted file can."""

    def __init__(self, owner, name):
        self.owner, self.name = owner, name

    def __reduce__(self):
        return getattr, (self.owner, self.name)


# (a) torch >= 2.6 loads with weights_only=True
def test_mmengine_checkpoint_loads_weights_only(digits_run):
    checkpoint = torch.load(
        digits_run['checkpoint'], map_location='cpu', weights_only=True)
    assert checkpoint['meta']['iter'] == 2
    loss_history = checkpoint['message_hub']['log_scalars']['train/loss']
    assert isinstance(loss_history, HistoryBuffer)
    assert len(loss_history.data[0]) == 2
    assert np.isfinite(loss_history.mean())
    assert 'backbone.conv1.weight' in checkpoint['state_dict']


def test_mmengine_loader_reads_checkpoint(digits_run):
    checkpoint = CheckpointLoader.load_checkpoint(
        digits_run['checkpoint'], map_location='cpu')
    assert checkpoint['meta']['epoch'] == 1
    assert 'param_groups' in checkpoint['optimizer']


def test_pickled_class_still_refused(tmp_path):
    path = tmp_path / 'code.pth'
    torch.save({'weight': torch.ones(2), 'object': CodeOnLoad()}, path)
    with pytest.raises(pickle.UnpicklingError, match='CodeOnLoad'):
        torch.load(path, weights_only=True)


@pytest.mark.parametrize('name', compat.HISTORY_BUFFER_STATISTICS)
def test_getattr_of_history_buffer_statistics_allowed(tmp_path, name):
    torch.save({'method': GetattrOnLoad(HistoryBuffer, name)},
               tmp_path / 'method.pth')
    loaded = torch.load(tmp_path / 'method.pth', weights_only=True)
    assert loaded['method'] is getattr(HistoryBuffer, name)


@pytest.mark.parametrize('owner, name',
                         [(HistoryBuffer, 'register_statistics'),
                          (HistoryBuffer, '__init__'),
                          (collections.OrderedDict, 'fromkeys')])
def test_other_getattr_refused(tmp_path, owner, name):
    torch.save({'call': GetattrOnLoad(owner, name)}, tmp_path / 'call.pth')
    refusal = f'Refusing getattr.*{name}'
    with pytest.raises(pickle.UnpicklingError, match=refusal):
        torch.load(tmp_path / 'call.pth', weights_only=True)


# (b) setuptools >= 82 has no pkg_resources
@pytest.fixture
def no_pkg_resources(monkeypatch):
    """Makes ``import pkg_resources`` fail, as with setuptools >= 82."""
    monkeypatch.setitem(sys.modules, 'pkg_resources', None)


def test_mmpretrain_base_config_inherits(tmp_path, no_pkg_resources):
    config = tmp_path / 'inherits.py'
    config.write_text(f"_base_ = '{MOCOV2_VIEWS}'\n"
                      'train_dataloader = dict(batch_size=8)\n')
    cfg = Config.fromfile(str(config))
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.train_dataloader.dataset.type == 'ImageNet'
    assert cfg.view_pipeline[0]['type'] == 'RandomResizedCrop'


@pytest.mark.parametrize('package, module', [('mmpretrain', mmpretrain),
                                             ('mmcv-lite', mmcv),
                                             ('mmcv', mmcv), ('numpy', np)])
def test_installed_package_lookup(no_pkg_resources, package, module):
    assert compat.is_installed(package)
    assert compat.get_installed_path(package) == osp.dirname(module.__file__)


def test_missing_package_lookup(no_pkg_resources):
    assert not compat.is_installed('no_such_package_disco')
    with pytest.raises(ModuleNotFoundError, match='no_such_package_disco'):
        compat.get_installed_path('no_such_package_disco')


# (c) numpy 2 and mmcv's hue rotation
def mocov2_view_pipeline(scale):
    """mmpretrain's stock MoCo-v2 two-view transform at ``scale`` pixels."""
    config = osp.join(
        osp.dirname(mmpretrain.__file__), '.mim', 'configs', '_base_',
        'datasets', 'imagenet_bs32_mocov2.py')
    view_pipeline = Config.fromfile(config).view_pipeline
    for transform in view_pipeline:
        if transform['type'] == 'RandomResizedCrop':
            transform['scale'] = scale
    return TRANSFORMS.build(
        dict(type='MultiView', num_views=2, transforms=[view_pipeline]))


def test_stock_mocov2_views_run_on_1000_images(monkeypatch):
    hue_factors = []
    patched = mmcv.adjust_hue

    def recording_adjust_hue(img, hue_factor, backend=None):
        hue_factors.append(hue_factor)
        return patched(img, hue_factor, backend=backend)

    monkeypatch.setattr(mmcv, 'adjust_hue', recording_adjust_hue)
    pipeline = mocov2_view_pipeline(scale=32)
    digits = Digits(split='train', img_size=32, indices=1000)
    np.random.seed(0)
    for index in range(len(digits)):
        views = pipeline(dict(img=digits.get_data_info(index)['img']))['img']
        assert [view.shape for view in views] == [(32, 32, 3)] * 2
    assert sum(factor < 0 for factor in hue_factors) > 300


def original_mmcv_adjust_hue():
    """mmcv's own ``adjust_hue``, loaded afresh from mmcv's source file."""
    spec = importlib.util.spec_from_file_location(
        'mmcv_photometric_unpatched', mmcv.image.photometric.__file__)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = 'mmcv.image'
    spec.loader.exec_module(module)
    return module.adjust_hue


def rotate_hue_by_hand(image, hue_factor, backend):
    """Rotates the hue of a BGR image by ``hue_factor`` of a full turn.

    The shift is ``hue_factor * 255`` truncated towards zero, taken modulo
    256 (a negative factor turns the other way), as mmcv meant it.
    """
    shift = math.trunc(hue_factor * 255)
    if backend == 'pillow':
        hue, saturation, value = Image.fromarray(
            np.ascontiguousarray(image[..., ::-1])).convert('HSV').split()
        hue = (np.asarray(hue).astype(np.int64) + shift) % 256
        rgb = Image.merge('HSV', (Image.fromarray(hue.astype(
            np.uint8)), saturation, value)).convert('RGB')
        return np.asarray(rgb)[..., ::-1]
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV_FULL)
    hsv[..., 0] = (hsv[..., 0].astype(np.int64) + shift) % 256
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR_FULL)


@pytest.fixture
def colour_image():
    """A random 12x12 BGR uint8 image."""
    return np.random.default_rng(0).integers(
        0, 256, (12, 12, 3), dtype=np.uint8)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('hue_factor', [0.0, 0.03, 0.1, 0.37, 0.5])
def test_adjust_hue_matches_mmcv_for_positive(colour_image, backend,
                                              hue_factor):
    expected = original_mmcv_adjust_hue()(colour_image, hue_factor, backend)
    result = mmcv.adjust_hue(colour_image, hue_factor, backend=backend)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize('backend', ['cv2', 'pillow'])
@pytest.mark.parametrize('hue_factor', [-0.03, -0.1, -0.37, -0.5])
def test_adjust_hue_rotates_back_for_negative(colour_image, backend,
                                              hue_factor):
    result = mmcv.adjust_hue(colour_image, hue_factor, backend=backend)
    np.testing.assert_array_equal(
        result, rotate_hue_by_hand(colour_image, hue_factor, backend))
    assert not np.array_equal(result, colour_image)


def test_adjust_hue_rejects_factor_out_of_range(colour_image):
    with pytest.raises(ValueError, match='0.6'):
        mmcv.adjust_hue(colour_image, 0.6)


def test_importing_disco_mm_leaves_mmengine_checkpointing_alone():
    import mmengine.runner.checkpoint as checkpoint_module
    import mmengine.runner.runner as runner_module

    assert runner_module.save_checkpoint is checkpoint_module.save_checkpoint
    assert (runner_module.find_latest_checkpoint is
            checkpoint_module.find_latest_checkpoint)
