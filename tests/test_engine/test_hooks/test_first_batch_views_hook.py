"""FirstBatchViewsHook: the first batch's views, pixel for pixel."""
import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmpretrain.models import SelfSupDataPreprocessor
from PIL import Image

from disco_mm.engine.hooks import FirstBatchViewsHook
from disco_mm.evaluation.pictures import GRID_GAP

MEAN, STD = [123.675, 116.28, 103.53], [58.395, 57.12, 57.375]


def write_first_batch(work_dir, views, max_images=8):
    """Runs the hook over two iterations of a batch of ``views``."""
    runner = SimpleNamespace(
        model=SimpleNamespace(
            data_preprocessor=SelfSupDataPreprocessor(mean=MEAN, std=STD)),
        work_dir=str(work_dir),
        logger=logging.getLogger('first_batch_views_test'))
    batch = dict(inputs=views, data_samples=[None] * len(views[0]))
    hook = FirstBatchViewsHook(max_images=max_images)
    hook.before_train(runner)
    hook.after_train_iter(runner, 0, batch)
    with Image.open(work_dir / 'first_batch_views.png') as picture:
        first = np.asarray(picture.convert('RGB'))
    (work_dir / 'first_batch_views.png').unlink()
    hook.after_train_iter(runner, 1, batch)
    assert not (work_dir / 'first_batch_views.png').exists()
    return first


def cell(picture, row, column, height, width, size):
    """The image at ``row``, ``column`` of a grid of ``height x width``."""
    top, left = row * (height + GRID_GAP), column * (width + GRID_GAP)
    return picture[top:top + size[0], left:left + size[1]]


def test_picture_holds_each_view_denormalised(tmp_path):
    views = [
        torch.randint(0, 256, (3, 3, 6, 5), dtype=torch.uint8),
        torch.randint(0, 256, (3, 3, 6, 5), dtype=torch.uint8)
    ]
    picture = write_first_batch(tmp_path, views)
    assert picture.shape == (3 * 6 + 2 * GRID_GAP, 2 * 5 + GRID_GAP, 3)
    for row in range(3):
        for column, view in enumerate(views):
            # normalised by the preprocessor, then de-normalised: the pixels
            # the pipeline made
            expected = view[row].permute(1, 2, 0).numpy()
            assert np.array_equal(
                cell(picture, row, column, 6, 5, (6, 5)), expected)
    # the gaps are white
    assert (picture[6:6 + GRID_GAP] == 255).all()


def test_views_of_other_sizes_and_fewer_rows(tmp_path):
    # multi-crop: a large and a small view; only the first 2 images drawn
    views = [
        torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8),
        torch.randint(0, 256, (4, 3, 4, 4), dtype=torch.uint8)
    ]
    picture = write_first_batch(tmp_path, views, max_images=2)
    assert picture.shape == (2 * 8 + GRID_GAP, 2 * 8 + GRID_GAP, 3)
    small = cell(picture, 1, 1, 8, 8, (8, 8))
    assert np.array_equal(small[:4, :4], views[1][1].permute(1, 2, 0).numpy())
    assert (small[4:] == 255).all() and (small[:, 4:] == 255).all()


def test_max_images_must_be_positive():
    with pytest.raises(ValueError,
                       match='default_hooks.first_batch_views.max_images'):
        FirstBatchViewsHook(max_images=0)
