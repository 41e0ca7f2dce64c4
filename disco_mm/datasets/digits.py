"""scikit-learn's handwritten digits as a small image data set."""
from typing import List, Optional

import cv2
import numpy as np
from mmpretrain.datasets import BaseDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class Digits(BaseDataset):
    """The 1,797 8x8 handwritten digits bundled with scikit-learn.

    Nothing is downloaded: the images ship inside scikit-learn. They are
    scaled to 0-255, resized to ``img_size`` and repeated over three
    channels, so every mmpretrain pipeline (two-view pretraining, single-view
    evaluation) takes them like photographs. The split is stratified and
    fixed: the same ``held_out_fraction`` always gives the same images.

    Args:
        split (str): ``'train'`` or ``'test'`` (the held-out images).
            Defaults to ``'train'``.
        img_size (int): Side of the resized square images. Defaults to 32.
        held_out_fraction (float): Share of each class held out for
            ``'test'``. Defaults to 0.25.
        pipeline (list): Transforms applied to each sample. Defaults to ().
        **kwargs: Further arguments of mmpretrain's ``BaseDataset``
            (``indices``, ``test_mode``, ...).
    """

    METAINFO = dict(classes=tuple(str(digit) for digit in range(10)))
    SPLIT_SEED = 0

    def __init__(self,
                 split: str = 'train',
                 img_size: int = 32,
                 held_out_fraction: float = 0.25,
                 pipeline: Optional[list] = (),
                 **kwargs) -> None:
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.split = split
        self.img_size = img_size
        self.held_out_fraction = held_out_fraction
        super().__init__(ann_file='', pipeline=pipeline, **kwargs)

    def load_data_list(self) -> List[dict]:
        """Builds one ``dict(img=..., gt_label=...)`` per image of the split.

        Returns:
            list[dict]: HxWx3 uint8 images and their labels.
        """
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        train_index, test_index = train_test_split(
            np.arange(len(digits.target)),
            test_size=self.held_out_fraction,
            stratify=digits.target,
            random_state=self.SPLIT_SEED)
        index = train_index if self.split == 'train' else test_index
        return [
            dict(img=self._to_image(digits.images[i]),
                 gt_label=int(digits.target[i])) for i in np.sort(index)
        ]

    def _to_image(self, digit: np.ndarray) -> np.ndarray:
        """Turns one 8x8 array of 0-16 into an RGB uint8 image."""
        gray = (digit * (255.0 / 16.0)).astype(np.float32)
        resized = cv2.resize(
            gray, (self.img_size, self.img_size),
            interpolation=cv2.INTER_CUBIC)
        image = np.clip(resized, 0, 255).round().astype(np.uint8)
        return np.repeat(image[:, :, None], 3, axis=2)
