"""Trains LightlyTrain's ``distillation`` on the digits and evaluates its
students as ``compare_methods.py`` evaluates disco_mm's.

The accuracy half of the side by side with LightlyTrain (the speed half is
``compare_lightly_train.py``). From the digits teacher (``--teacher``, the
MoCo-v2 ResNet-18 w32 checkpoint ``compare_methods.py`` trains or takes),
LightlyTrain 0.18's default method trains the digits student (ResNet-18
of base width 16) for each seed, with the budget of disco_mm's global +
local digits config (the same method, ``CONFIG``): its epochs and batch
size. What LightlyTrain gets:

* the digits training images (the ``Digits`` data set's ``train`` split,
  written once to ``<work-dir>/images`` as PNG files);
* the teacher's backbone, its tensors under torchvision's names;
* ``lightly_train_digits.py``, run with ``--lightly-python`` (an
  interpreter where lightly-train is installed; it is no dependency of
  disco_mm), which trains and writes the student's backbone.

Each student is then evaluated by disco_mm's digits protocol
(:func:`disco_mm.apis.experiments.evaluate`: linear probe and weighted kNN
on the pooled backbone feature of the held-out images, the config's
normalisation, which is LightlyTrain's too), beside the teacher, and the
table (mean +- std over seeds) is printed and written to ``results.md``
and ``results.json``. The cosine to the teacher's embedding is left out:
LightlyTrain's projectors stay in its run. A seed whose student file
exists is only evaluated, so an interrupted comparison continues with the
same command. disco_mm's own students come from
``compare_methods.py --configs global_local/*_digits.py`` with the same
teacher and seeds.

Example:
    python tools/analysis_tools/compare_lightly_train_digits.py \\
        --teacher work_dirs/mocov2_resnet18-w32_1xb64-coslr-100e_digits/epoch_100.pth \\
        --lightly-python lt-venv/bin/python --seeds 0 1 2
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

import torch
from compare_lightly_train import INSTALL_HINT, lightly_train_missing
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import DATASETS, MODELS
from PIL import Image
from torch import nn

from disco_mm.apis.experiments import (CONFIG_ROOT, METRIC_COLUMNS, TEACHER,
                                       build_eval_loaders, evaluate,
                                       format_table, summarise_runs)
from disco_mm.apis.method_comparison import teacher_for_evaluation
from disco_mm.checkpoints.student import torchvision_resnet_weights

#: disco_mm's config of the same method on the digits: its student, epochs,
#: batch size and normalisation are LightlyTrain's here.
CONFIG = ('global_local/'
          'global-local_resnet18-w16_mocov2-r18-w32_1xb64-adamw-coslr-60e_'
          'digits.py')
#: The table's row of LightlyTrain's students.
ROW = 'LightlyTrain distillation'
#: The columns: every metric but the cosine to the teacher.
COLUMNS = tuple(column for column in METRIC_COLUMNS
                if column[0] != 'teacher_cosine')
LIGHTLY_SIDE = osp.join(osp.dirname(osp.abspath(__file__)),
                        'lightly_train_digits.py')


class Student(nn.Module):
    """A trained student's backbone as ``evaluate`` takes a model.

    Args:
        cfg (Config): The config whose backbone and preprocessor it has.
        weights (dict): The backbone's tensors.
    """

    def __init__(self, cfg: Config, weights: Dict[str, torch.Tensor]):
        super().__init__()
        self.backbone = MODELS.build(cfg.model.backbone)
        self.backbone.load_state_dict(weights)
        # the embedding is the pooled feature
        self.neck = None
        self.data_preprocessor = MODELS.build(cfg.data_preprocessor)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Train LightlyTrain\'s distillation on the digits and '
        'evaluate it as compare_methods.py does')
    parser.add_argument('--teacher',
                        required=True,
                        help='checkpoint of the digits MoCo-v2 teacher')
    parser.add_argument(
        '--lightly-python',
        default=sys.executable,
        help='a Python interpreter with lightly-train installed')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--epochs',
                        type=int,
                        help=f'default: those of configs/{CONFIG}')
    parser.add_argument('--threads',
                        type=int,
                        help='CPU threads of each LightlyTrain run')
    parser.add_argument('--quick-eval',
                        action='store_true',
                        help='evaluate on the few images of digits_demo '
                        '--quick')
    parser.add_argument('--work-dir',
                        default='work_dirs/'
                        'compare_lightly_train_digits',
                        help='output')
    return parser.parse_args(argv)


def write_images(cfg: Config, folder: str) -> int:
    """Writes the digits training images as PNG files; returns how many."""
    dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, pipeline=[]))
    os.makedirs(folder, exist_ok=True)
    for index in range(len(dataset)):
        image = dataset.get_data_info(index)['img']
        Image.fromarray(image).save(osp.join(folder, f'{index:04d}.png'))
    return len(dataset)


def lightly_train_student(args: argparse.Namespace, cfg: Config, seed: int,
                          images: str, teacher: str) -> str:
    """Trains one seed's student with LightlyTrain unless it exists."""
    run_dir = osp.join(args.work_dir, f'seed_{seed}')
    out = osp.join(run_dir, 'student_backbone.pth')
    if osp.exists(out):
        print(f'{out} exists: evaluated, not trained again', flush=True)
        return out
    command = [
        args.lightly_python, LIGHTLY_SIDE, '--images', images, '--teacher',
        teacher, '--epochs',
        str(args.epochs or cfg.train_cfg.max_epochs), '--batch-size',
        str(cfg.train_dataloader.batch_size), '--seed',
        str(seed), '--work-dir',
        osp.join(run_dir, 'lightly_train'), '--out', out
    ]
    if args.threads:
        command += ['--threads', str(args.threads)]
    missing = lightly_train_missing(args.lightly_python)
    if missing:
        sys.exit(f'{out} does not exist and LightlyTrain cannot train it: '
                 f'{missing}\n{INSTALL_HINT}')
    print('+ ' + ' '.join(command), flush=True)
    subprocess.run(command, check=True)
    return out


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    init_default_scope('mmpretrain')
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, CONFIG))
    images = osp.join(args.work_dir, 'images')
    if not osp.isdir(images):
        print(
            f'{write_images(cfg, images)} digits images written to '
            f'{images}',
            flush=True)
    # unfolded: LightlyTrain's plain ResNet-18 loads its BatchNorm layers
    teacher_model = teacher_for_evaluation(args.teacher, fold_batch_norm=False)
    teacher_file = osp.join(args.work_dir, 'teacher_backbone.pth')
    torch.save(
        torchvision_resnet_weights(
            {
                f'backbone.{key}': value.contiguous()
                for key, value in teacher_model.backbone.state_dict().items()
            }, args.teacher), teacher_file)
    loaders = build_eval_loaders(args.quick_eval)
    runs = []
    for seed in args.seeds:
        student_file = lightly_train_student(args, cfg, seed, images,
                                             teacher_file)
        try:
            weights = torch.load(
                student_file, map_location='cpu', weights_only=True)
        except Exception as error:
            sys.exit(f'{student_file} cannot be read ({type(error).__name__}):'
                     ' delete it and run the same command again to train '
                     'that seed anew.')
        results, _ = evaluate(
            {
                TEACHER.name: teacher_model,
                ROW: Student(cfg, weights)
            }, loaders)
        runs.append(dict(seed=seed, **results))
    summary = {
        name: summarise_runs([run[name] for run in runs], COLUMNS)
        for name in (TEACHER.name, ROW)
    }
    table = format_table(['model'],
                         [([name], row) for name, row in summary.items()],
                         COLUMNS)
    print(table)
    with open(osp.join(args.work_dir, 'results.md'), 'w') as file:
        file.write(table + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as file:
        json.dump(dict(seeds=args.seeds, runs=runs, summary=summary),
                  file,
                  indent=1)


if __name__ == '__main__':
    main()
