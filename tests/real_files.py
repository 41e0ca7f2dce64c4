"""Small data sets of real image files, written at test time.

Three layouts, as users have them on disk:

* :func:`make_imagenet_tree` - ImageNet as mmpretrain's ``ImageNet`` reads
  it: ``train/<wnid>/<name>.JPEG``, ``val/<name>.JPEG`` and the annotation
  files ``meta/train.txt`` / ``meta/val.txt``, plus the SimCLR 1% / 10%
  subset lists that ``semi_supervised_subset.py`` converts. The JPEG files
  have varied sizes and aspect ratios; one is grayscale and one CMYK.
* :func:`make_cifar_tree` - CIFAR-10 / CIFAR-100 in the python-pickle
  layout that mmpretrain's ``CIFAR10`` / ``CIFAR100`` read.
* :func:`make_image_folder` - a folder of JPEG and PNG files in
  sub-folders, for ``CheckedCustomDataset``.

The pictures are smooth colour gradients with noise and a bright square
whose place depends on the class, so that every augmentation has something
to work on. Nothing is downloaded.
"""
import hashlib
import os
import os.path as osp
import pickle
from typing import Dict, List

import numpy as np
from PIL import Image

#: WordNet ids of the classes of the ImageNet-layout tree.
WNIDS = ('n01440764', 'n01443537', 'n01484850', 'n01491361')
#: (width, height) of the training images, in turn: varied sizes and
#: aspect ratios, from smaller than a 224-px crop to larger.
TRAIN_SIZES = ((64, 48), (300, 200), (45, 80), (160, 160), (257, 129),
               (96, 128), (200, 310), (120, 90))


def picture(rng: np.random.Generator, width: int, height: int,
            label: int) -> np.ndarray:
    """An RGB picture of ``height x width``, uint8.

    Args:
        rng (np.random.Generator): The source of the noise.
        width (int): Width in pixels.
        height (int): Height in pixels.
        label (int): Class index: moves the bright square.

    Returns:
        np.ndarray: ``height x width x 3`` RGB pixels.
    """
    rows = np.linspace(0, 1, height)[:, None, None]
    cols = np.linspace(0, 1, width)[None, :, None]
    colour = rng.uniform(0.2, 1.0, size=(1, 1, 3))
    image = 255 * colour * (0.5 * rows + 0.5 * cols)
    image = image + rng.normal(0, 12, size=(height, width, 3))
    top = (label % 2) * height // 2
    left = (label // 2 % 2) * width // 2
    image[top:top + height // 2, left:left + width // 2] += 80
    return np.clip(image, 0, 255).astype(np.uint8)


def save_jpeg(pixels: np.ndarray, path: str, mode: str = 'RGB') -> None:
    """Writes ``pixels`` as a JPEG file in colour ``mode`` (RGB, L, CMYK)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(pixels, 'RGB').convert(mode).save(
        path, format='JPEG', quality=90)


def make_imagenet_tree(root: str, images_per_class: int = 2,
                       val_per_class: int = 1, seed: int = 0) -> Dict:
    """Writes an ImageNet-layout tree of real JPEG files under ``root``.

    Args:
        root (str): The data root (``data/imagenet`` of the configs).
        images_per_class (int): Training images per class. Defaults to 2.
        val_per_class (int): Validation images per class. Defaults to 1.
        seed (int): Seed of the pictures. Defaults to 0.

    Returns:
        dict: ``root``, ``train`` (relative paths of the training images,
        in ``meta/train.txt`` order), ``val`` (those of ``val/``),
        ``grayscale`` and ``cmyk`` (the paths of those two files), and
        ``subsets``: the SimCLR-format subset list of each percentage
        (``{1: path, 10: path}``).
    """
    rng = np.random.default_rng(seed)
    train_lines, val_lines, train, val = [], [], [], []
    sizes = iter(TRAIN_SIZES * (1 + len(WNIDS) * images_per_class //
                                len(TRAIN_SIZES)))
    for label, wnid in enumerate(WNIDS):
        for index in range(images_per_class):
            name = f'{wnid}/{wnid}_{index + 1}.JPEG'
            width, height = next(sizes)
            mode = 'RGB'
            if label == 1 and index == 0:
                mode = 'L'
            elif label == 2 and index == 0:
                mode = 'CMYK'
            save_jpeg(
                picture(rng, width, height, label),
                osp.join(root, 'train', name), mode)
            train_lines.append(f'{name} {label}')
            train.append(name)
        for index in range(val_per_class):
            name = f'ILSVRC2012_val_{label * val_per_class + index + 1:08d}.JPEG'
            save_jpeg(
                picture(rng, 180, 140, label), osp.join(root, 'val', name))
            val_lines.append(f'{name} {label}')
            val.append(name)
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    for split, lines in (('train', train_lines), ('val', val_lines)):
        with open(osp.join(root, 'meta', f'{split}.txt'), 'w') as file:
            file.write('\n'.join(lines) + '\n')
    subsets = {}
    for percent in (1, 10):
        # SimCLR's lists name one file per line, without the class folder.
        path = osp.join(root, f'{percent}percent.txt')
        chosen = train[::images_per_class] if percent == 1 else train
        with open(path, 'w') as file:
            file.write(''.join(osp.basename(name) + '\n' for name in chosen))
        subsets[percent] = path
    return dict(
        root=root,
        train=train,
        val=val,
        grayscale=osp.join(root, 'train', train[images_per_class]),
        cmyk=osp.join(root, 'train', train[2 * images_per_class]),
        subsets=subsets)


#: Per CIFAR variant: folder, training files, test file, meta file, the
#: label key of a batch and the class-name key of the meta file.
CIFAR_LAYOUTS = {
    10: dict(
        folder='cifar-10-batches-py',
        train=[f'data_batch_{number}' for number in range(1, 6)],
        test='test_batch',
        meta='batches.meta',
        label_key='labels',
        names_key='label_names'),
    100: dict(
        folder='cifar-100-python',
        train=['train'],
        test='test',
        meta='meta',
        label_key='fine_labels',
        names_key='fine_label_names'),
}


def _cifar_batch(rng: np.random.Generator, count: int, num_classes: int,
                 label_key: str) -> dict:
    """A pickled CIFAR batch: ``data`` (N x 3072, planar RGB) and labels."""
    labels = [int(label) for label in rng.integers(0, num_classes, count)]
    images = np.stack([picture(rng, 32, 32, label) for label in labels])
    data = images.transpose(0, 3, 1, 2).reshape(count, -1)
    return {'data': data, label_key: labels}


def make_cifar_tree(root: str, num_classes: int, train_images: int = 10,
                    test_images: int = 4, seed: int = 0) -> Dict:
    """Writes CIFAR-10 or CIFAR-100 in the python-pickle layout.

    Args:
        root (str): The data root (``data/cifar10`` of the configs).
        num_classes (int): 10 or 100.
        train_images (int): Training images, spread over the training
            files. Defaults to 10.
        test_images (int): Test images. Defaults to 4.
        seed (int): Seed of the pictures. Defaults to 0.

    Returns:
        dict: ``root``, ``folder`` and ``md5``: the MD5 of each file by
        name (mmpretrain checks the files against the published
        archive's; see :func:`cifar_checksum_module`).
    """
    layout = CIFAR_LAYOUTS[num_classes]
    rng = np.random.default_rng(seed)
    folder = osp.join(root, layout['folder'])
    os.makedirs(folder, exist_ok=True)
    per_file = np.array_split(np.arange(train_images), len(layout['train']))
    batches = {
        name: _cifar_batch(rng, len(indices), num_classes,
                           layout['label_key'])
        for name, indices in zip(layout['train'], per_file)
    }
    batches[layout['test']] = _cifar_batch(rng, test_images, num_classes,
                                           layout['label_key'])
    batches[layout['meta']] = {
        layout['names_key']: [f'class_{index}' for index in range(num_classes)]
    }
    md5 = {}
    for name, content in batches.items():
        path = osp.join(folder, name)
        with open(path, 'wb') as file:
            pickle.dump(content, file)
        with open(path, 'rb') as file:
            md5[name] = hashlib.md5(file.read()).hexdigest()
    return dict(root=root, folder=folder, md5=md5)


def cifar_checksum_module(folder: str, trees: Dict[int, Dict]) -> None:
    """Writes a ``sitecustomize`` module that accepts the generated CIFAR files.

    mmpretrain's ``CIFAR10`` / ``CIFAR100`` compare every file's MD5 with
    the published archive's, which generated files cannot match. The module
    replaces those expected checksums with the generated files' own, so
    the integrity check still runs (a changed or missing file still fails)
    and nothing else of the data set or the config changes. Python
    imports it at start-up when ``folder`` is on ``PYTHONPATH``.

    Args:
        folder (str): Where the module is written.
        trees (dict): :func:`make_cifar_tree` results by number of classes.
    """
    lines = ['from mmpretrain.datasets import CIFAR10, CIFAR100', '']
    for num_classes, tree in sorted(trees.items()):
        dataset = f'CIFAR{num_classes}'
        layout = CIFAR_LAYOUTS[num_classes]
        md5 = tree['md5']
        lines += [
            f'{dataset}.train_list = '
            f'{[[name, md5[name]] for name in layout["train"]]!r}',
            f'{dataset}.test_list = '
            f'{[[layout["test"], md5[layout["test"]]]]!r}',
            f'{dataset}.meta = dict({dataset}.meta, '
            f'md5={md5[layout["meta"]]!r})',
        ]
    with open(osp.join(folder, 'sitecustomize.py'), 'w') as file:
        file.write('\n'.join(lines) + '\n')


def make_image_folder(root: str, seed: int = 0) -> List[str]:
    """Writes unlabelled images in sub-folders (JPEG and PNG, varied sizes).

    Args:
        root (str): The folder.
        seed (int): Seed of the pictures. Defaults to 0.

    Returns:
        list[str]: The files' paths relative to ``root``.
    """
    rng = np.random.default_rng(seed)
    names = []
    for index, (width, height) in enumerate(TRAIN_SIZES):
        folder = ('holiday', 'garden')[index % 2]
        extension = ('jpg', 'png')[index // 2 % 2]
        name = f'{folder}/photo_{index}.{extension}'
        path = osp.join(root, name)
        os.makedirs(osp.dirname(path), exist_ok=True)
        Image.fromarray(picture(rng, width, height, index)).save(path)
        names.append(name)
    return names
