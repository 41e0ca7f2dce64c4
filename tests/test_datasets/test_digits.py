"""Digits: a fixed stratified split of scikit-learn's 1,797 digits."""
import collections
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmpretrain.registry import DATASETS, MODELS
from sklearn.datasets import load_digits

from disco_mm.datasets import Digits


@pytest.fixture(scope='module')
def splits():
    """The train and test splits at the native 8 px, built once."""
    return {
        split: Digits(split=split, img_size=8)
        for split in ('train', 'test')
    }


def native_samples():
    """Every scikit-learn digit as (image bytes, label), scaled by hand.

    At 8 px no resizing happens: a pixel of 0-16 becomes
    ``round(value * 255 / 16)`` in each of three channels.

    Returns:
        collections.Counter: The multiset of all 1,797 samples.
    """
    digits = load_digits()
    samples = collections.Counter()
    for image, label in zip(digits.images, digits.target):
        gray = np.round(image * 255.0 / 16.0).astype(np.uint8)
        samples[(np.stack([gray] * 3, axis=2).tobytes(), int(label))] += 1
    return samples


def samples(dataset):
    """The multiset of (image bytes, label) of a Digits split."""
    return collections.Counter(
        (info['img'].tobytes(), info['gt_label'])
        for info in (dataset.get_data_info(i) for i in range(len(dataset))))


def test_registered_in_mmpretrain():
    assert DATASETS.get('Digits') is Digits


def test_splits_partition_all_digits(splits):
    assert len(splits['train']) + len(splits['test']) == 1797
    train, test = samples(splits['train']), samples(splits['test'])
    # equal multisets with sizes adding up: each digit is in one split only
    assert train + test == native_samples()


def test_every_class_in_both_splits_stratified(splits):
    totals = collections.Counter(load_digits().target.tolist())
    held_out = collections.Counter(splits['test'].get_data_info(i)['gt_label']
                                   for i in range(len(splits['test'])))
    assert set(held_out) == set(range(10))
    for digit, total in totals.items():
        assert abs(held_out[digit] - 0.25 * total) <= 1, digit
    assert splits['train'].metainfo['classes'] == tuple('0123456789')


@pytest.mark.parametrize('split', ['train', 'test'])
def test_deterministic_across_instances(split):
    first, second = Digits(split=split), Digits(split=split)
    assert len(first) == len(second)
    for i in range(0, len(first), 97):
        a, b = first.get_data_info(i), second.get_data_info(i)
        assert a['gt_label'] == b['gt_label']
        assert np.array_equal(a['img'], b['img'])


@pytest.mark.parametrize('img_size', [16, 32])
def test_images_are_square_rgb_uint8(img_size):
    dataset = Digits(split='test', img_size=img_size, indices=5)
    for i in range(len(dataset)):
        image = dataset.get_data_info(i)['img']
        assert image.shape == (img_size, img_size, 3)
        assert image.dtype == np.uint8
        assert np.array_equal(image[..., 0], image[..., 2])
    assert image.max() > 128  # strokes are bright, not left at 0-16


def test_bad_split_raises():
    with pytest.raises(ValueError, match="'val'"):
        Digits(split='val')


def test_two_view_pipeline_gives_a_batch(repo_root):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/datasets/digits_bs64_mocov2.py'))
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, indices=4))
    sample = dataset[0]
    assert len(sample['inputs']) == 2
    for view in sample['inputs']:
        assert view.shape == (3, 32, 32) and view.dtype == torch.uint8
    batch = default_collate([dataset[i] for i in range(4)])
    preprocessor = MODELS.build(cfg.data_preprocessor)
    views = preprocessor(batch, training=True)['inputs']
    assert len(views) == 2
    for view in views:
        assert view.shape == (4, 3, 32, 32) and view.dtype == torch.float32
        assert torch.isfinite(view).all()
