"""Turns a SimCLR ImageNet label subset into an mmpretrain annotation file.

SimCLR's subsets (``1percent.txt``: 12,811 images, ``10percent.txt``:
128,116) name one ImageNet training image a line::

    n01440764_10026.JPEG

mmpretrain's ``ImageNet`` dataset reads ``relative/path label`` lines,
relative to ``data/imagenet/train``::

    n01440764/n01440764_10026.JPEG 0

The label is the index of the image's synset among ImageNet's sorted synset
folders, as in mmpretrain's ``meta/train.txt``. Give either the training
folder (``--train-dir``: classes from its sorted sub-folders, and every
image must exist) or ``meta/train.txt`` (``--meta``: classes and images as
listed there). Lines that name no ImageNet training image, an unknown synset
or a missing image stop the conversion with their line numbers.

Example:
    python tools/dataset_converters/semi_supervised_subset.py \\
        1percent.txt data/imagenet/meta/train_1percent.txt \\
        --train-dir data/imagenet/train
"""
import argparse
import os
import os.path as osp
import re
import sys
from typing import Dict, List, Optional, Set, Tuple

#: An ImageNet training image: ``<synset>_<number>.JPEG``.
TRAIN_IMAGE_NAME = re.compile(r'^(n\d{8})_\d+\.JPEG$')

#: How many problems an error message lists.
LISTED_PROBLEMS = 10


class SubsetError(ValueError):
    """A subset list that does not match the ImageNet training set."""


def read_subset(path: str) -> List[Tuple[int, str]]:
    """Reads a subset list, one file name a line; blank lines are skipped.

    Args:
        path (str): The list, e.g. SimCLR's ``1percent.txt``.

    Returns:
        list[tuple[int, str]]: Line number (from 1) and file name.
    """
    with open(path) as file:
        return [(number, line.strip())
                for number, line in enumerate(file, start=1)
                if line.strip()]


def classes_from_train_dir(train_dir: str) -> Dict[str, int]:
    """Numbers the synset folders of ImageNet's training folder, sorted.

    Args:
        train_dir (str): ``data/imagenet/train`` with one folder a synset.

    Returns:
        dict[str, int]: Synset -> class index.
    """
    if not osp.isdir(train_dir):
        raise SubsetError(f'--train-dir {train_dir} is no folder; give '
                          "ImageNet's training folder (one folder a synset).")
    synsets = sorted(name for name in os.listdir(train_dir)
                     if osp.isdir(osp.join(train_dir, name)))
    if not synsets:
        raise SubsetError(f'--train-dir {train_dir} has no synset folders.')
    return {synset: index for index, synset in enumerate(synsets)}


def read_meta(meta: str) -> Tuple[Dict[str, int], Set[str]]:
    """Reads mmpretrain's ``meta/train.txt``.

    Args:
        meta (str): Lines ``nXXXXXXXX/nXXXXXXXX_N.JPEG label``.

    Returns:
        tuple: Synset -> class index, and the set of listed relative paths.
    """
    classes, paths = {}, set()
    with open(meta) as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            fields = line.split()
            if len(fields) != 2 or not fields[1].isdigit():
                raise SubsetError(
                    f'{meta} line {number}: {line.strip()!r} is not '
                    "'relative/path label'; give mmpretrain's "
                    'meta/train.txt.')
            path, label = fields[0], int(fields[1])
            synset = path.split('/')[0]
            if classes.setdefault(synset, label) != label:
                raise SubsetError(
                    f'{meta} line {number}: synset {synset} has label '
                    f'{label} here and {classes[synset]} before.')
            paths.add(path)
    return classes, paths


def annotate(subset: List[Tuple[int, str]],
             classes: Dict[str, int],
             exists) -> List[str]:
    """Gives each image of the subset its path and label.

    Args:
        subset (list[tuple[int, str]]): Line numbers and file names.
        classes (dict[str, int]): Synset -> class index.
        exists (callable): Whether a relative path is in the training set.

    Returns:
        list[str]: ``relative/path label`` lines, in the subset's order.

    Raises:
        SubsetError: Some lines name no known, existing training image; the
            message lists them with their line numbers.
    """
    lines, problems, seen = [], [], {}
    for number, name in subset:
        match = TRAIN_IMAGE_NAME.match(name)
        if match is None:
            problems.append(f'line {number}: {name!r} is not an ImageNet '
                            'training file name (nXXXXXXXX_N.JPEG)')
            continue
        synset = match.group(1)
        path = f'{synset}/{name}'
        if synset not in classes:
            problems.append(f'line {number}: {name} has the unknown synset '
                            f'{synset}')
        elif not exists(path):
            problems.append(f'line {number}: {path} is missing')
        elif name in seen:
            problems.append(
                f'line {number}: {name} repeats line {seen[name]}')
        else:
            seen[name] = number
            lines.append(f'{path} {classes[synset]}')
    if problems:
        raise SubsetError(
            f'{len(problems)} of {len(subset)} subset lines do not match the '
            'ImageNet training set:\n  ' +
            '\n  '.join(problems[:LISTED_PROBLEMS]) +
            (f'\n  ... and {len(problems) - LISTED_PROBLEMS} more'
             if len(problems) > LISTED_PROBLEMS else '') +
            '\nCheck that the list and the training set are the same '
            'ImageNet release (ILSVRC-2012).')
    return lines


def convert(subset_file: str,
            dst: str,
            train_dir: Optional[str] = None,
            meta: Optional[str] = None) -> List[str]:
    """Writes the annotation file of a subset list.

    Args:
        subset_file (str): The subset list.
        dst (str): The annotation file to write.
        train_dir (str, optional): ImageNet's training folder.
        meta (str, optional): mmpretrain's ``meta/train.txt``; exactly one
            of ``train_dir`` and ``meta`` is given.

    Returns:
        list[str]: The lines written.
    """
    if (train_dir is None) == (meta is None):
        raise ValueError('give exactly one of train_dir and meta')
    if train_dir is not None:
        classes = classes_from_train_dir(train_dir)

        def exists(path):
            return osp.isfile(osp.join(train_dir, path))
    else:
        classes, listed = read_meta(meta)
        exists = listed.__contains__
    lines = annotate(read_subset(subset_file), classes, exists)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    with open(dst, 'w') as file:
        file.write(''.join(f'{line}\n' for line in lines))
    return lines


def main(argv=None) -> None:
    """Converts the subset list named on the command line."""
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('subset', help='the subset list, e.g. 1percent.txt')
    parser.add_argument(
        'dst', help='the annotation file, e.g. '
        'data/imagenet/meta/train_1percent.txt')
    classes = parser.add_mutually_exclusive_group(required=True)
    classes.add_argument(
        '--train-dir', help="ImageNet's training folder (data/imagenet/train)")
    classes.add_argument(
        '--meta', help="mmpretrain's meta/train.txt of ImageNet")
    args = parser.parse_args(argv)
    try:
        lines = convert(args.subset, args.dst, args.train_dir, args.meta)
    except SubsetError as error:
        sys.exit(f'error: {error}')
    synsets = {line.split('/')[0] for line in lines}
    print(f'{args.dst}: {len(lines)} images of {len(synsets)} classes')


if __name__ == '__main__':
    main()
