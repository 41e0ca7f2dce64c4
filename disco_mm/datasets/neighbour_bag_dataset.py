"""A data set whose samples also carry the views of a bag neighbour."""
import os.path as osp
from typing import Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmpretrain.registry import DATASETS
from torch.utils.data import Dataset


@DATASETS.register_module()
class NeighbourBagDataset(Dataset):
    """Appends to each sample's views those of one image of its bag.

    BINGO distils *bags* of related images: for every training image, the
    indices of its ``k`` nearest neighbours in the frozen teacher's feature
    space, written by ``tools/analysis_tools/build_bingo_bags.py`` as an
    ``N x k`` integer array (``.npy``, row ``i`` = bag of image ``i`` of
    ``dataset``, in the data set's order). Each time image ``i`` is drawn,
    one member ``j`` of its bag is drawn uniformly, and the sample becomes::

        inputs = views(i) + views(j)   # e.g. [x_q, x_k, n_q, n_k]

    Both images go through the wrapped data set's own pipeline, so with
    the usual two-view pipeline the algorithm receives four views; the
    data samples (labels, metainfo) stay those of image ``i``.

    Args:
        dataset (dict or Dataset): The wrapped data set (config or object)
            whose pipeline ends with ``PackInputs`` of a multi-view
            transform.
        bag_file (str): The ``.npy`` file of bags.
    """

    def __init__(self, dataset: Union[dict, Dataset], bag_file: str) -> None:
        self.dataset = (DATASETS.build(dataset)
                        if isinstance(dataset, dict) else dataset)
        self.bag_file = bag_file
        self.bags = self._load_bags(bag_file, len(self.dataset))
        self.metainfo = getattr(self.dataset, 'metainfo', {})

    @staticmethod
    def _load_bags(bag_file: str, dataset_size: int) -> np.ndarray:
        """Reads the bags and checks that they index this data set.

        Raises:
            FileNotFoundError: The file does not exist; the message tells
                how to write it.
            ValueError: The bags do not fit the data set.
        """
        if not osp.isfile(bag_file):
            raise FileNotFoundError(
                f'Bag file {bag_file} does not exist: write it with '
                'python tools/analysis_tools/build_bingo_bags.py CONFIG '
                'TEACHER_CHECKPOINT (it reads train_dataloader.dataset.'
                'bag_file of CONFIG), or set train_dataloader.dataset.'
                'bag_file to an existing one.')
        bags = np.load(bag_file)
        if (bags.ndim != 2 or bags.shape[1] == 0
                or not np.issubdtype(bags.dtype, np.integer)):
            raise ValueError(
                f'Bag file {bag_file} must hold an N x k integer array of '
                f'neighbour indices, got {bags.dtype} {bags.shape}.')
        if bags.shape[0] != dataset_size or bags.min() < 0 or (
                bags.max() >= dataset_size):
            raise ValueError(
                f'Bag file {bag_file} has {bags.shape[0]} bags with indices '
                f'in [{bags.min()}, {bags.max()}], but the data set has '
                f'{dataset_size} images: the bags were built for another '
                'data set or subset. Rebuild them with build_bingo_bags.py '
                'from the same config (and the same dataset.indices).')
        return bags

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict:
        """Returns sample ``index`` with a bag neighbour's views appended.

        Args:
            index (int): Index of the anchor image.

        Returns:
            dict: ``inputs`` (the anchor's views, then the neighbour's) and
            the anchor's ``data_samples``.
        """
        anchor = self.dataset[index]
        neighbour = self.dataset[int(np.random.choice(self.bags[index]))]
        return dict(
            inputs=list(anchor['inputs']) + list(neighbour['inputs']),
            data_samples=anchor['data_samples'])

    def full_init(self) -> None:
        """Fully initialises the wrapped data set (mmengine's lazy init)."""
        if isinstance(self.dataset, BaseDataset):
            self.dataset.full_init()
