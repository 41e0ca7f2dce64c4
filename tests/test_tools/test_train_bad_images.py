"""tools/train.py on a folder with images only PIL can open.

16 readable JPEGs and the files of OPENCV_UNDECODABLE (TGA named .jpg,
ICO named .png, a JPEG with a damaged scan header, QOI, ...) feed the
digits DisCo config through CheckedCustomDataset with the pipeline's
OpenCV loader: 'skip' trains on the 16, 'raise' stops before training.
"""
import sys

import numpy as np
import pytest
from PIL import Image

from image_files import OPENCV_UNDECODABLE


@pytest.fixture(scope='module')
def folder_config(tmp_path_factory, digits_disco_config):
    """A digits DisCo config reading a folder of 16 good, 9 bad images."""
    root = tmp_path_factory.mktemp('bad_images')
    images = root / 'images'
    images.mkdir()
    rng = np.random.default_rng(0)
    for index in range(16):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), np.uint8)).save(
            images / f'good_{index}.jpg')
    for name, make in OPENCV_UNDECODABLE.items():
        (images / name).write_bytes(make())
    config = root / 'folder_config.py'
    config.write_text(
        f'_base_ = {digits_disco_config!r}\n'
        'train_dataloader = dict(dataset=dict(\n'
        "    _delete_=True, type='CheckedCustomDataset',\n"
        f'    data_root={str(images)!r}, with_label=False,\n'
        "    pipeline=[dict(type='LoadImageFromFile'),\n"
        "              dict(type='MultiView', num_views=2,\n"
        '                   transforms=[{{_base_.view_pipeline}}]),\n'
        "              dict(type='PackInputs')]))\n")
    return str(config)


@pytest.mark.slow
@pytest.mark.parametrize('policy', ['skip', 'raise'])
def test_images_the_pipeline_cannot_decode(tmp_path, folder_config, policy,
                                           digits_teacher, small_run_options,
                                           run_tool):
    options = [
        option for option in small_run_options
        if not option.startswith('train_dataloader.dataset.indices=')
    ]
    log = run_tool([
        sys.executable, 'tools/train.py', folder_config, '--work-dir',
        str(tmp_path), '--cfg-options',
        f'model.teacher.checkpoint={digits_teacher[0]}',
        'train_cfg.max_epochs=1',
        f'train_dataloader.dataset.bad_image_policy={policy}', *options
    ],
                   returncode=0 if policy == 'skip' else 1)
    bad = len(OPENCV_UNDECODABLE)
    if policy == 'skip':
        assert f'Skipping {bad} unreadable images of {bad + 16}:' in log
        assert 'Epoch(train) [1][2/2]' in log
        assert (tmp_path / 'epoch_1.pth').exists()
    else:
        assert f'ValueError: {bad} of {bad + 16} images cannot be read:' \
            in log
        assert 'tga.jpg: the pipeline cannot decode it' in log
        assert 'Epoch(train)' not in log
