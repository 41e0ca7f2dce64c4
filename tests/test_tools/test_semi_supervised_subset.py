"""tools/dataset_converters/semi_supervised_subset.py: SimCLR subset lists
to mmpretrain annotation files that mmpretrain's ImageNet dataset reads."""
import importlib.util
import os.path as osp
import sys

import pytest
from mmpretrain.datasets import ImageNet

SYNSETS = ['n01440764', 'n01443537', 'n02102040']


@pytest.fixture(scope='module')
def tool(repo_root):
    """The converter module."""
    spec = importlib.util.spec_from_file_location(
        'semi_supervised_subset',
        osp.join(repo_root, 'tools', 'dataset_converters',
                 'semi_supervised_subset.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def imagenet(tmp_path):
    """A tiny ImageNet: train/<synset>/<synset>_<i>.JPEG, i in 1..3."""
    root = tmp_path / 'imagenet'
    for synset in SYNSETS:
        folder = root / 'train' / synset
        folder.mkdir(parents=True)
        for i in range(1, 4):
            (folder / f'{synset}_{i}.JPEG').write_bytes(b'')
    return root


def write_list(tmp_path, names):
    path = tmp_path / 'subset.txt'
    path.write_text(''.join(f'{name}\n' for name in names))
    return str(path)


def test_labels_from_sorted_synset_folders(tmp_path, imagenet, tool):
    subset = write_list(
        tmp_path, ['n02102040_2.JPEG', '', 'n01440764_1.JPEG',
                   'n01443537_3.JPEG'])
    dst = str(imagenet / 'meta' / 'train_1percent.txt')
    tool.main([subset, dst, '--train-dir', str(imagenet / 'train')])
    with open(dst) as file:
        assert file.read().splitlines() == [
            'n02102040/n02102040_2.JPEG 2',
            'n01440764/n01440764_1.JPEG 0',
            'n01443537/n01443537_3.JPEG 1',
        ]
    # mmpretrain's ImageNet (as the semi configs use it) reads the file.
    dataset = ImageNet(
        data_root=str(imagenet), split='train',
        ann_file='meta/train_1percent.txt')
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert [info['gt_label'] for info in infos] == [2, 0, 1]
    assert infos[0]['img_path'] == str(
        imagenet / 'train' / 'n02102040' / 'n02102040_2.JPEG')


def test_labels_from_meta_train_txt(tmp_path, tool):
    # meta/train.txt decides the labels (here not in sorted order) and
    # which images exist.
    meta = tmp_path / 'train.txt'
    meta.write_text('n01440764/n01440764_1.JPEG 7\n'
                    'n01443537/n01443537_2.JPEG 3\n'
                    'n01440764/n01440764_2.JPEG 7\n')
    subset = write_list(tmp_path, ['n01443537_2.JPEG', 'n01440764_2.JPEG'])
    lines = tool.convert(subset, str(tmp_path / 'out.txt'), meta=str(meta))
    assert lines == ['n01443537/n01443537_2.JPEG 3',
                     'n01440764/n01440764_2.JPEG 7']

    unlisted = write_list(tmp_path, ['n01443537_1.JPEG'])
    with pytest.raises(tool.SubsetError,
                       match='line 1: n01443537/n01443537_1.JPEG is missing'):
        tool.convert(unlisted, str(tmp_path / 'out.txt'), meta=str(meta))


def test_every_bad_line_is_named(tmp_path, imagenet, tool, run_tool):
    subset = write_list(tmp_path, [
        'n01440764_1.JPEG',  # fine
        'n09999999_1.JPEG',  # unknown synset
        'n01443537_9.JPEG',  # no such image
        'ILSVRC2012_val_00000001.JPEG',  # not a training image
        'n01440764_1.JPEG',  # repeated
    ])
    dst = tmp_path / 'out.txt'
    with pytest.raises(tool.SubsetError) as error:
        tool.convert(subset, str(dst), train_dir=str(imagenet / 'train'))
    message = str(error.value)
    assert message.startswith('4 of 5 subset lines do not match')
    assert 'line 2: n09999999_1.JPEG has the unknown synset n09999999' in (
        message)
    assert 'line 3: n01443537/n01443537_9.JPEG is missing' in message
    assert ("line 4: 'ILSVRC2012_val_00000001.JPEG' is not an ImageNet "
            'training file name') in message
    assert 'line 5: n01440764_1.JPEG repeats line 1' in message
    assert not dst.exists()
    # The command line ends with the message and a failure status.
    output = run_tool([
        sys.executable, 'tools/dataset_converters/semi_supervised_subset.py',
        subset, str(dst), '--train-dir', str(imagenet / 'train')
    ], returncode=1)
    assert 'error: 4 of 5 subset lines' in output


def test_train_dir_must_hold_synset_folders(tmp_path, tool):
    subset = write_list(tmp_path, ['n01440764_1.JPEG'])
    with pytest.raises(tool.SubsetError, match='is no folder'):
        tool.convert(subset, str(tmp_path / 'out.txt'),
                     train_dir=str(tmp_path / 'absent'))
