"""Times the two-view augmentation pipeline of a config, per worker.

One process (one data-loader worker) runs the config's training pipeline
(decoding, both augmented views, packing) on JPEG files written from
random images, once per JPEG decoding backend of mmcv (``cv2``,
``pillow``, ``turbojpeg``; a backend that does not load on the machine is
reported with the reason), and then the same transforms written with
torchvision
(MoCo-v2's published recipe: random resized crop, colour jitter 0.8,
grayscale 0.2, Gaussian blur 0.5, flip), decoding with PIL, two views, and
conversion to tensors. It prints images per second of each (an image = two
views) and their ratio. A data loader with ``N`` workers delivers about
``N`` times the images per second of one worker.

Example:
    python tools/analysis_tools/benchmark_data.py \\
        configs/disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py
"""
import argparse
import json
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, List

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from PIL import Image
from torchvision import transforms as T

import disco_mm  # noqa: F401  (applies the fixes of disco_mm.compat)


#: mmcv's decoding backends (``LoadImageFromFile(imdecode_backend=...)``).
BACKENDS = ['cv2', 'pillow', 'turbojpeg']


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Time the two-view augmentation per worker')
    parser.add_argument('config', help='training config')
    parser.add_argument('--images', type=int, default=200,
                        help='images per timed round')
    parser.add_argument('--rounds', type=int, default=3,
                        help='timed rounds per pipeline; the median counts')
    parser.add_argument('--image-size', type=int, nargs=2,
                        default=(500, 375), metavar=('W', 'H'),
                        help='size of the JPEG files (ImageNet\'s typical)')
    parser.add_argument('--backends', nargs='+', default=BACKENDS,
                        choices=BACKENDS,
                        help='mmcv\'s JPEG decoding backends to time')
    parser.add_argument('--out', help='also write the JSON to this file')
    return parser.parse_args()


def write_images(directory: str, count: int, size: List[int]) -> List[str]:
    """Writes smooth random colour images as JPEG files."""
    generator = np.random.default_rng(0)
    paths = []
    for index in range(count):
        coarse = generator.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize(size, Image.BICUBIC)
        paths.append(osp.join(directory, f'{index}.jpg'))
        image.save(paths[-1], quality=90)
    return paths


def torchvision_two_views(crop_size: int) -> Callable[[str], list]:
    """MoCo-v2's two-view augmentation with torchvision, from a file.

    The blur kernel spans a tenth of the crop, as in SimCLR and BYOL.
    """
    blur_kernel = crop_size // 20 * 2 + 1
    view = T.Compose([
        T.RandomResizedCrop(crop_size, scale=(0.2, 1.0)),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(blur_kernel, sigma=(0.1, 2.0))],
                      p=0.5),
        T.RandomHorizontalFlip(),
        T.PILToTensor(),
    ])

    def two_views(path: str) -> list:
        image = Image.open(path).convert('RGB')
        return [view(image), view(image)]

    return two_views


def config_two_views(cfg: Config, backend: str) -> Callable[[str], dict]:
    """The config's training pipeline, from a file, decoding with ``backend``.
    """
    transforms = [
        dict(transform, imdecode_backend=backend)
        if transform['type'] == 'LoadImageFromFile' else transform
        for transform in cfg.train_dataloader.dataset.pipeline
    ]
    pipeline = Compose(transforms)
    return lambda path: pipeline(dict(img_path=path))


def backend_problem(backend: str, path: str) -> str:
    """Why mmcv cannot decode a JPEG file with ``backend``, or ``''``.

    mmcv loads the turbojpeg library when the backend is first chosen
    (``mmcv.use_backend``); the default backend is put back afterwards.
    """
    with open(path, 'rb') as file:
        content = file.read()
    default = mmcv.image.io.imread_backend
    try:
        mmcv.use_backend(backend)
        mmcv.imfrombytes(content, backend=backend)
    except (ImportError, RuntimeError, OSError) as error:
        return f'{type(error).__name__}: {str(error).splitlines()[0]}'
    finally:
        mmcv.use_backend(default)
    return ''


def crop_size_of(cfg: Config) -> int:
    """The side of the views the config's pipeline crops."""
    for transform in cfg.train_dataloader.dataset.pipeline:
        for view in transform.get('transforms', [[]])[0]:
            if view['type'] == 'RandomResizedCrop':
                return view['scale']
    raise ValueError('The config\'s pipeline has no RandomResizedCrop view.')


def images_per_second(name: str, run: Callable[[str], object],
                      paths: List[str], rounds: int) -> float:
    """The median over rounds of images per second of ``run``.

    A progress bar (count, ETA) advances between the timed rounds.
    """
    print(f'{name}: {rounds} timed rounds of {len(paths)} images',
          flush=True)
    progress = ProgressBar(rounds, file=sys.stdout)
    run(paths[0])
    speeds = []
    for _ in range(rounds):
        start = time.perf_counter()
        for path in paths:
            run(path)
        speeds.append(len(paths) / (time.perf_counter() - start))
        progress.update()
    print(flush=True)
    return statistics.median(speeds)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)  # a data-loader worker computes with one
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    speeds, unavailable = {}, {}
    with tempfile.TemporaryDirectory() as directory:
        paths = write_images(directory, args.images, args.image_size)
        for backend in args.backends:
            problem = backend_problem(backend, paths[0])
            if problem:
                unavailable[f'config/{backend}'] = problem
                continue
            speeds[f'config/{backend}'] = images_per_second(
                f'config/{backend}', config_two_views(cfg, backend), paths,
                args.rounds)
        speeds['torchvision'] = images_per_second(
            'torchvision', torchvision_two_views(crop_size_of(cfg)), paths,
            args.rounds)
    print(f'{"pipeline":<20}{"images/s per worker":>22}')
    for name, speed in speeds.items():
        print(f'{name:<20}{speed:>22.1f}')
    for name, problem in unavailable.items():
        print(f'{name:<20}{"not available":>22}  ({problem})')
    for name, speed in speeds.items():
        if name != 'torchvision':
            print(f'{name} / torchvision = '
                  f'{speed / speeds["torchvision"]:.2f}')
    result = json.dumps(
        dict(config=args.config, image_size=args.image_size,
             images=args.images, rounds=args.rounds,
             images_per_s={k: round(v, 2) for k, v in speeds.items()},
             unavailable=unavailable))
    print(result)
    if args.out:
        with open(args.out, 'w') as file:
            file.write(result + '\n')


if __name__ == '__main__':
    main()
