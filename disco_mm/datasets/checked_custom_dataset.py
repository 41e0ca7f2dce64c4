"""A folder or list of images, checked for unreadable files at start-up."""
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional

from mmcv.transforms import LoadImageFromFile
from mmengine.logging import print_log
from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS
from PIL import Image

from ..messages import listed

#: A complete JPEG ends with the end-of-image marker, possibly followed by
#: a few padding bytes; a truncated one stops inside its image data.
JPEG_END_MARKER = b'\xff\xd9'
JPEG_TAIL_BYTES = 64

BAD_IMAGE_POLICIES = ('raise', 'skip')

#: Threads that decode images at start-up (decoders release the GIL).
CHECK_THREADS = min(8, os.cpu_count() or 1)


def image_problem(path: str,
                  load: Optional[Callable[[dict], Optional[dict]]] = None
                  ) -> Optional[str]:
    """Tells why an image file cannot be trained on, if it cannot.

    The file is decoded by ``load``, the data pipeline's own loading step,
    with its decoder: PIL opens many files that OpenCV (mmcv's default
    backend) cannot decode (TGA, ICO, QOI, PCX, SGI, DDS, XBM, EPS, JPEGs
    with a damaged header). Before that its header and structure are
    checked (PIL's ``verify``, the end of a JPEG): a truncated JPEG or PNG
    decodes without an error, with its missing part grey. It finds empty
    files, files that are no image, files cut short and files the
    pipeline's decoder rejects.

    Args:
        path (str): The image file.
        load (callable, optional): The pipeline's loading transform (e.g.
            ``LoadImageFromFile``), called with ``dict(img_path=path)``;
            None for mmcv's ``LoadImageFromFile()`` (OpenCV). Defaults to
            None.

    Returns:
        str or None: The problem, or None for a readable image.
    """
    if osp.getsize(path) == 0:
        return 'empty file'
    try:
        with Image.open(path) as image:
            image_format = image.format
            image.verify()
    except Exception as error:  # PIL raises many types for broken files.
        return f'{type(error).__name__}: {error}'
    if image_format == 'JPEG':
        with open(path, 'rb') as file:
            file.seek(max(osp.getsize(path) - JPEG_TAIL_BYTES, 0))
            if JPEG_END_MARKER not in file.read():
                return 'truncated JPEG (no end-of-image marker)'
    load = load or LoadImageFromFile()
    try:
        loaded = load(dict(img_path=path))
    except Exception as error:  # Decoders raise many types.
        return f'the pipeline cannot decode it ({type(error).__name__}: ' \
            f'{error})'
    if loaded is None:
        return 'the pipeline cannot decode it (its loader gave nothing)'
    return None


def pipeline_loader(pipeline) -> Optional[Callable[[dict], Optional[dict]]]:
    """The image loading step of a data pipeline, if it has one.

    Args:
        pipeline: A ``Compose`` of transforms.

    Returns:
        callable or None: Its first ``LoadImageFromFile`` (or subclass).
    """
    return next((transform
                 for transform in getattr(pipeline, 'transforms', [])
                 if isinstance(transform, LoadImageFromFile)), None)


@DATASETS.register_module()
class CheckedCustomDataset(CustomDataset):
    """mmpretrain's ``CustomDataset`` that checks every image when built.

    A file that cannot be decoded would otherwise stop the run when the
    loader reaches it, possibly hours into an epoch, and a truncated JPEG
    would be trained on with its missing part grey. Every file is checked
    once at start-up (:func:`image_problem`), decoded by the pipeline's own
    ``LoadImageFromFile`` (its backend and colour type; mmcv's default
    without one) on up to :data:`CHECK_THREADS` threads, and
    ``bad_image_policy`` decides:

    * ``'raise'``: stop before training with the list of bad files;
    * ``'skip'``: leave them out and log how many and which.

    Images that are grayscale, with alpha, CMYK or 16 bits per channel are
    readable: mmpretrain's ``LoadImageFromFile`` turns them into 8-bit
    3-channel images.

    Args:
        bad_image_policy (str): ``'raise'`` or ``'skip'``. Defaults to
            ``'raise'``.
        **kwargs: The arguments of ``CustomDataset`` (``data_root``,
            ``ann_file``, ``with_label``, ``pipeline``, ...).
    """

    def __init__(self, bad_image_policy: str = 'raise', **kwargs) -> None:
        if bad_image_policy not in BAD_IMAGE_POLICIES:
            raise ValueError(
                f'bad_image_policy must be one of {BAD_IMAGE_POLICIES}, got '
                f'{bad_image_policy!r}')
        self.bad_image_policy = bad_image_policy
        self.skipped_images: List[str] = []
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        """Lists the images and applies the policy to unreadable ones.

        Returns:
            list[dict]: The samples of readable images.

        Raises:
            ValueError: With ``'raise'``, unreadable images; the message
                lists them and the two ways on.
        """
        data_list, problems = [], []
        samples = super().load_data_list()
        load = pipeline_loader(self.pipeline)
        with ThreadPoolExecutor(CHECK_THREADS) as pool:
            found = list(
                pool.map(
                    lambda sample: image_problem(sample['img_path'], load),
                    samples))
        for sample, problem in zip(samples, found):
            if problem is None:
                data_list.append(sample)
            else:
                self.skipped_images.append(sample['img_path'])
                problems.append(f'{sample["img_path"]}: {problem}')
        if problems and self.bad_image_policy == 'raise':
            raise ValueError(
                f'{len(problems)} of {len(data_list) + len(problems)} images '
                'cannot be read:' + listed(problems) +
                '\nRemove or replace them, or leave them out with '
                "train_dataloader.dataset.bad_image_policy='skip'.")
        if problems:
            print_log(
                f'Skipping {len(problems)} unreadable images of '
                f'{len(data_list) + len(problems)}:' + listed(problems),
                logger='current')
        return data_list
