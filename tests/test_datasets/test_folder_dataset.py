"""A plain folder of images feeds the MoCo-v2 two-view pipeline."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS
from PIL import Image

import disco_mm  # noqa: F401



@pytest.fixture
def image_folder(tmp_path):
    """Writes three images of different sizes into nested folders."""
    rng = np.random.default_rng(0)
    for index, (height, width) in enumerate([(40, 50), (64, 32), (30, 30)]):
        folder = tmp_path / f'group_{index % 2}'
        folder.mkdir(exist_ok=True)
        pixels = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f'{index}.jpg')
    return tmp_path


def test_folder_config_gives_two_views_of_every_image(image_folder,
                                                      repo_root):
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs/_base_/datasets/folder_bs32_mocov2.py'))
    cfg.train_dataloader.dataset.data_root = str(image_folder)

    dataset = DATASETS.build(cfg.train_dataloader.dataset)

    assert len(dataset) == 3
    assert dataset.bad_image_policy == 'raise'
    views = dataset[0]['inputs']
    assert [tuple(view.shape) for view in views] == [(3, 224, 224)] * 2

