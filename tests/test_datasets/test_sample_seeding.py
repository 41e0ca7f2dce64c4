"""Per-sample seeds: augmentations independent of workers and resumes.

The digits two-view pipeline (random crops, colour jitter, grey, blur)
loads 2 epochs of 12 images in batches of 4, by a shuffling sampler.
"""
import pickle

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler, default_collate
from mmpretrain.registry import DATASETS
from torch.utils.data import DataLoader

from disco_mm.datasets import Digits, NeighbourBagDataset
from disco_mm.datasets.sample_seeding import (EpochSampleKeys, SampleKey,
                                              seed_dataset_per_sample)

SEED = 7


def test_sample_key_is_an_int_that_keeps_its_epoch_when_pickled():
    key = pickle.loads(pickle.dumps(SampleKey(5, 3)))
    assert key == 5 and key.epoch == 3 and [10, 11, 12, 13, 14, 15][key] == 15


def test_epoch_sample_keys_skip_and_tag():
    keys = EpochSampleKeys([5, 3, 9, 1, 7], epoch=2, skip=2)
    assert list(keys) == [9, 1, 7] and len(keys) == 3
    assert {key.epoch for key in keys} == {2}
    assert len(EpochSampleKeys([1, 2], epoch=0, skip=3)) == 0


@pytest.fixture
def digits(repo_root):
    """12 training digits with the digits config's two-view pipeline."""
    cfg = Config.fromfile(
        f'{repo_root}/configs/_base_/datasets/digits_bs64_mocov2.py')
    dataset_cfg = cfg.train_dataloader.dataset.to_dict()
    return DATASETS.build(dict(dataset_cfg, indices=12))


def load_epochs(dataset, num_workers, epochs, skip=0):
    """The views of each batch of ``epochs``, as a training run loads them.

    Args:
        dataset: The data set, seeded per sample.
        num_workers (int): Worker processes; they persist across epochs.
        epochs (list[int]): The epochs to load, in order.
        skip (int): Samples of the first epoch trained before a resume.

    Returns:
        list[torch.Tensor]: The stacked views of every batch.
    """
    sampler = DefaultSampler(dataset, shuffle=True, seed=SEED)
    loader = DataLoader(
        dataset,
        batch_size=4,
        sampler=sampler,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        collate_fn=default_collate)
    batches = []
    for epoch in epochs:
        sampler.set_epoch(epoch)
        loader.batch_sampler.sampler = EpochSampleKeys(sampler, epoch, skip)
        skip = 0
        batches += [torch.stack(batch['inputs']) for batch in loader]
    return batches


def test_views_do_not_depend_on_workers_or_resume(digits):
    assert seed_dataset_per_sample(digits, SEED)
    alone = load_epochs(digits, 0, [0, 1])
    persistent = load_epochs(digits, 2, [0, 1])
    # a resume after the first batch of epoch 1, with a fresh worker
    resumed = load_epochs(digits, 1, [1], skip=4)
    assert len(alone) == 6
    for batch, other in zip(alone, persistent):
        assert torch.equal(batch, other)
    for batch, other in zip(alone[4:], resumed):
        assert torch.equal(batch, other)


def test_views_depend_on_seed_epoch_and_index(digits):
    seed_dataset_per_sample(digits, SEED)

    def views(index, epoch):
        return torch.stack(digits[SampleKey(index, epoch)]['inputs'])

    first = views(3, 1)
    assert torch.equal(views(3, 1), first)
    assert not torch.equal(views(3, 2), first)
    # wrapping again replaces the seed, and keeps a single wrapper
    seed_dataset_per_sample(digits, SEED + 1)
    assert not torch.equal(views(3, 1), first)
    assert not hasattr(digits.pipeline.pipeline, 'seed')


def write_bags(folder, bags):
    """Writes BINGO bags to ``folder/bags.npy`` and returns the path."""
    np.save(folder / 'bags.npy', np.asarray(bags))
    return str(folder / 'bags.npy')


def test_data_set_without_sample_index_is_reported():
    assert not seed_dataset_per_sample([1, 2, 3], SEED)


def test_bag_neighbour_follows_the_anchors_seed(tmp_path):
    # plain views: only the neighbour drawn from a bag of 5 is random
    dataset = NeighbourBagDataset(
        Digits(indices=6, pipeline=[
            dict(type='MultiView', num_views=1, transforms=[[]]),
            dict(type='PackInputs')
        ]), write_bags(tmp_path, [[1, 2, 3, 4, 5]] * 6))
    assert seed_dataset_per_sample(dataset, SEED)

    def neighbours(epoch):
        return [
            int(dataset[SampleKey(0, epoch)]['inputs'][1].sum())
            for _ in range(4)
        ]

    drawn = neighbours(epoch=0)
    assert len(set(drawn)) == 1
    assert len({neighbours(epoch)[0] for epoch in range(8)}) > 1
