"""Augmentations drawn as a function of (run seed, epoch, sample index).

A data loader's worker process draws the random numbers of every sample
it loads from one stream. Which samples a worker gets, and where its
stream stands, depend on the number of workers, on whether they persist
across epochs (``persistent_workers=True`` keeps the stream going) and on
when the run was last resumed (new workers restart from their seeds).
Seeding Python, numpy and torch before each sample's pipeline makes its
augmentations depend on none of these: only on the run's seed, the epoch
and the sample's index.

The epoch travels with each index from the sampler (:class:`SampleKey`,
yielded by :class:`EpochSampleKeys`), so that workers created once for
the whole run still know it; the pipeline wrapper :class:`SeedPerSample`
seeds from it.
"""
import random
from typing import Iterator, Optional

import numpy as np
import torch
from torch.utils.data import Sampler


class SampleKey(int):
    """A sample index that also carries the epoch it is drawn in.

    It is an ``int`` to every data set (list indexing, ``sample_idx``);
    :class:`SeedPerSample` reads its ``epoch``.

    Args:
        index (int): The sample's index in the data set.
        epoch (int): The epoch (0-based).
    """

    def __new__(cls, index: int, epoch: int) -> 'SampleKey':
        key = super().__new__(cls, index)
        key.epoch = epoch
        return key

    def __reduce__(self):
        return SampleKey, (int(self), self.epoch)


class EpochSampleKeys(Sampler):
    """Yields a sampler's indices as :class:`SampleKey` of one epoch.

    Args:
        sampler (Sampler): The epoch's sampler (e.g. ``DefaultSampler``).
        epoch (int): The epoch its indices are drawn in.
        skip (int): How many of its first indices to leave out (already
            trained on before a resume). Defaults to 0.
    """

    def __init__(self, sampler: Sampler, epoch: int, skip: int = 0) -> None:
        self.sampler = sampler
        self.epoch = epoch
        self.skip = skip

    def __iter__(self) -> Iterator[SampleKey]:
        for position, index in enumerate(self.sampler):
            if position >= self.skip:
                yield SampleKey(index, self.epoch)

    def __len__(self) -> int:
        return max(len(self.sampler) - self.skip, 0)


def seed_generators(seed: int, epoch: int, index: int) -> None:
    """Seeds Python, numpy and torch (CPU) for one sample of one epoch.

    The three seeds come from one ``numpy.random.SeedSequence`` of the
    triple, so neighbouring indices or epochs give unrelated streams.
    Of torch, the CPU generator alone is seeded: the pipelines draw on
    the CPU, and ``torch.manual_seed`` also seeds every accelerator, at
    ten times the cost of all three seeds here.

    Args:
        seed (int): The run's seed (non-negative).
        epoch (int): The epoch.
        index (int): The sample's index.
    """
    python_seed, numpy_seed, torch_seed = np.random.SeedSequence(
        [seed, epoch, index]).generate_state(3)
    random.seed(int(python_seed))
    np.random.seed(numpy_seed)
    torch.default_generator.manual_seed(int(torch_seed))


class SeedPerSample:
    """A data pipeline that seeds the generators before each sample.

    A sample whose ``sample_idx`` is a :class:`SampleKey` is transformed
    right after :func:`seed_generators` of (``seed``, its epoch, its
    index); its ``sample_idx`` becomes a plain ``int`` again. Other samples
    (e.g. a second image a data set wrapper loads for the same item) are
    transformed with the generators as they stand, which the key of the
    item before them has set.

    Args:
        pipeline (callable): The data set's pipeline (``Compose``).
        seed (int): The run's seed.
    """

    def __init__(self, pipeline, seed: int) -> None:
        self.pipeline = pipeline
        self.seed = seed

    def __call__(self, results: dict) -> Optional[dict]:
        key = results.get('sample_idx')
        if isinstance(key, SampleKey):
            seed_generators(self.seed, key.epoch, int(key))
            results['sample_idx'] = int(key)
        return self.pipeline(results)


def seed_dataset_per_sample(dataset, seed: int) -> bool:
    """Wraps a data set's pipeline in :class:`SeedPerSample`.

    The data set, or the one it wraps (``dataset.dataset``, as
    ``NeighbourBagDataset``), must have a ``pipeline`` and hand the index
    it is given on as ``sample_idx`` (mmengine's ``BaseDataset`` does).
    Wrapping twice keeps one wrapper, with the newer seed.

    Args:
        dataset: The training data set.
        seed (int): The run's seed.

    Returns:
        bool: Whether the pipeline is now seeded per sample.
    """
    owner = dataset if hasattr(dataset, 'pipeline') else getattr(
        dataset, 'dataset', None)
    if (not hasattr(owner, 'pipeline') or not hasattr(owner, 'get_data_info')
            or len(owner) == 0):
        return False
    if not isinstance(
            owner.get_data_info(SampleKey(0, 0)).get('sample_idx'),
            SampleKey):
        return False
    pipeline = owner.pipeline
    if isinstance(pipeline, SeedPerSample):
        pipeline = pipeline.pipeline
    owner.pipeline = SeedPerSample(pipeline, seed)
    return True
