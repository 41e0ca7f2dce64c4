"""check_train_data_root: a missing data folder is named by its config key."""
import pytest
from mmengine.config import Config

from disco_mm.datasets import check_train_data_root


def config(dataset):
    """A config whose training data set is ``dataset``."""
    return Config(dict(train_dataloader=dict(dataset=dataset)))


def test_missing_folder_names_the_key(tmp_path):
    missing = str(tmp_path / 'images')
    with pytest.raises(FileNotFoundError) as error:
        check_train_data_root(config(dict(type='CustomDataset',
                                          data_root=missing)))
    assert str(error.value).startswith(
        f"train_dataloader.dataset.data_root is '{missing}', which is no "
        'folder')


def test_wrapped_data_set_names_the_inner_key(tmp_path):
    dataset = dict(
        type='NeighbourBagDataset',
        dataset=dict(type='CustomDataset', data_root=str(tmp_path / 'no')))
    with pytest.raises(FileNotFoundError,
                       match='^train_dataloader.dataset.dataset.data_root'):
        check_train_data_root(config(dataset))


def test_missing_annotation_file_names_the_key(tmp_path):
    with pytest.raises(FileNotFoundError,
                       match="^train_dataloader.dataset.ann_file is 'a.txt'"):
        check_train_data_root(
            config(dict(data_root=str(tmp_path), ann_file='a.txt')))


def test_existing_remote_and_absent_roots_pass(tmp_path):
    (tmp_path / 'a.txt').write_text('x.jpg\n')
    check_train_data_root(
        config(dict(data_root=str(tmp_path), ann_file='a.txt')))
    check_train_data_root(config(dict(data_root='s3://bucket/images')))
    check_train_data_root(config(dict(type='Digits')))
