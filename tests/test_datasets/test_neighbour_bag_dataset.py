"""NeighbourBagDataset: a bag member's views follow the anchor's."""
import numpy as np
import pytest
import torch

from disco_mm.datasets import Digits, NeighbourBagDataset

# Two views without randomness: each view is the plain image.
TWO_PLAIN_VIEWS = [
    dict(type='MultiView', num_views=2, transforms=[[]]),
    dict(type='PackInputs')
]


@pytest.fixture
def digits():
    return Digits(split='train', indices=6, pipeline=TWO_PLAIN_VIEWS)


def write(tmp_path, bags):
    path = str(tmp_path / 'bags.npy')
    np.save(path, np.asarray(bags))
    return path


def test_sample_has_anchor_then_bag_member_views(tmp_path, digits):
    bags = [[5, 5], [2, 2], [0, 0], [4, 4], [1, 1], [3, 3]]
    dataset = NeighbourBagDataset(digits, write(tmp_path, bags))
    assert len(dataset) == 6
    for index, bag in enumerate(bags):
        sample = dataset[index]
        assert len(sample['inputs']) == 4
        anchor, neighbour = digits[index], digits[bag[0]]
        for got, expected in zip(sample['inputs'],
                                 anchor['inputs'] + neighbour['inputs']):
            assert torch.equal(got, expected)
        assert sample['data_samples'].gt_label == anchor[
            'data_samples'].gt_label


def test_neighbour_is_drawn_from_the_whole_bag(tmp_path, digits):
    dataset = NeighbourBagDataset(
        digits, write(tmp_path, [[1, 2]] + [[0, 0]] * 5))
    np.random.seed(0)
    images = {digits[i]['inputs'][0].sum().item(): i for i in (1, 2)}
    drawn = {images[dataset[0]['inputs'][2].sum().item()] for _ in range(30)}
    assert drawn == {1, 2}


def test_builds_the_wrapped_dataset_from_its_config(tmp_path):
    dataset = NeighbourBagDataset(
        dict(type='Digits', indices=3, pipeline=TWO_PLAIN_VIEWS),
        write(tmp_path, [[1], [2], [0]]))
    assert isinstance(dataset.dataset, Digits) and len(dataset) == 3


def test_missing_bag_file_says_how_to_write_it(tmp_path, digits):
    with pytest.raises(FileNotFoundError, match='build_bingo_bags.py'):
        NeighbourBagDataset(digits, str(tmp_path / 'none.npy'))


@pytest.mark.parametrize('bags, problem', [
    ([[1], [2]], 'has 2 bags'),
    ([[6]] * 6, r'indices in \[6, 6\]'),
    ([[0.5]] * 6, 'integer array'),
])
def test_bags_of_another_dataset_are_refused(tmp_path, digits, bags,
                                             problem):
    with pytest.raises(ValueError, match=problem):
        NeighbourBagDataset(digits, write(tmp_path, bags))
