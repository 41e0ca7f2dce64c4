"""Times disco_mm's distillation steps side by side with LightlyTrain's.

Three rows, each measured in a process of its own (so that their peak
memories do not mix), on the same folder of JPEG files, the same DINOv2
ViT-S/14 teacher file, a ResNet-18 student, the same batch and image
size, fp32 (disco_mm's teacher too, which by default computes in bf16 on
CPUs with native bf16) and ``--threads`` CPU threads:

* ``disco_mm global+local``: the config that reproduces LightlyTrain's
  ``distillation`` defaults,
  configs/global_local/global-local-lightly_resnet18_dinov2-vit-small-p14_1xb128-coslr-100e_in1k.py,
* ``disco_mm DisCo``: DisCo with the same teacher,
  configs/disco/disco_resnet18_dinov2-vit-small-p14_8xb32-coslr-200e_in1k.py,
* ``LightlyTrain distillation``: lightly-train 0.18's default method (its
  version 3), through its public ``lightly_train.pretrain``, with a
  torchvision ResNet-18 and its ``dinov2/vits14-noreg`` teacher read from
  the same file.

What one step is on each side:

* disco_mm (``benchmark_train.py CONFIG --data FOLDER --rows step``): one
  ``model.train_step`` - the data preprocessor (normalising the uint8
  views), the forward passes, the losses, the backward pass and the
  optimizer's update - on batches made beforehand from the folder by the
  config's training pipeline.
* LightlyTrain (``lightly_train_step.py``): its own training loop, timed
  from outside with torch's global optimizer-step hooks around
  ``optimizer.step(closure)``, inside which Lightning runs the forward
  passes (mixup, teacher, student), the loss, the backward pass, the
  gradient clipping and AdamW's update. Its views arrive normalised from
  its data loader.

Data loading is timed on neither side (with the default ``--workers 0``
both load between the steps, untimed). The step time is the median over
``--steps`` steps after ``--warmup`` untimed ones; the operations of one
step are counted by ``torch.utils.flop_counter.FlopCounterMode`` over the
first warm-up step (forward, backward and optimizer: matrix products,
convolutions, attention); GFLOP/s is their count over the median time;
the peak is the process's peak RSS from the first step to the last (the
models, their gradients and optimizer state, the activations, and what
the process holds besides). disco_mm runs as tools/train.py runs it on CPU
(keeping freed memory for the next step, unless
``--return-freed-memory``); LightlyTrain as it ships. The two queues of
teacher embeddings differ in length (8,192 for disco_mm's config,
LightlyTrain's choice by the number of images for its own): their share
of a step's operations is below 1%.

lightly-train (AGPL-3.0) is not a dependency of disco_mm: install it in a
virtual environment of its own (with requirements/constraints.txt, for the
same torch) and name its interpreter with ``--lightly-python``; without it
the LightlyTrain row is left out, and the tool says how to install it. The
two cannot share one interpreter anyway: lightly-train 0.18 brings
transformers 5, with which mmpretrain 1.2 fails to import. Without
``--teacher`` the teacher file holds random weights at the released shapes
(speed and memory do not depend on them).

Example:
    python tools/analysis_tools/compare_lightly_train.py --make-data 256 \\
        --lightly-python lt-venv/bin/python --threads 2 --out lightly.json
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import Dict, Optional

import numpy as np
import timm
import torch
from PIL import Image

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = osp.join(REPO_ROOT, 'tools', 'analysis_tools')
#: The disco_mm rows and their configs.
DISCO_MM_CONFIGS = {
    'disco_mm global+local':
    'configs/global_local/global-local-lightly_resnet18_dinov2-vit-small-'
    'p14_1xb128-coslr-100e_in1k.py',
    'disco_mm DisCo':
    'configs/disco/disco_resnet18_dinov2-vit-small-p14_8xb32-coslr-200e_'
    'in1k.py',
}
LIGHTLY_ROW = 'LightlyTrain distillation'
LIGHTLY_TRAIN_VERSION = '0.18.0'
INSTALL_HINT = (
    'lightly-train is AGPL-3.0 and not a dependency of disco_mm; install it '
    'in a virtual environment of its own:\n'
    '    python3 -m venv lt-venv && lt-venv/bin/pip install '
    f'lightly-train=={LIGHTLY_TRAIN_VERSION} '
    '-c requirements/constraints.txt\n'
    'then add --lightly-python lt-venv/bin/python')
#: Sides of the generated JPEG files, about those of ImageNet photos.
MADE_IMAGE_SIDES = (256, 500)


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Time disco_mm\'s steps side by side with LightlyTrain')
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument('--data', help='a folder of JPEG files')
    data.add_argument('--make-data', type=int, metavar='N',
                      help='write N JPEG files to time on')
    parser.add_argument(
        '--teacher',
        help='DINOv2 ViT-S/14 weights in the layout of '
        'dinov2_vits14_pretrain.pth; default: random weights at its shapes')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=5,
                        help='timed steps per row')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps per row before timing; the '
                        'first counts the operations')
    parser.add_argument('--threads', type=int,
                        help='CPU threads of each process')
    parser.add_argument('--workers', type=int, default=0,
                        help='data-loader workers of each process')
    parser.add_argument(
        '--matmul-size', type=int, default=4096,
        help='side of the float32 matrix product each process times as '
        'its reference')
    parser.add_argument(
        '--lightly-python', default=sys.executable,
        help='a Python interpreter that imports lightly_train; default: '
        'this one')
    parser.add_argument(
        '--return-freed-memory', action='store_true',
        help='disco_mm rows: glibc\'s default of returning freed memory, '
        'as LightlyTrain runs')
    parser.add_argument('--work-dir',
                        help='keep the data, teacher and outputs here; '
                        'default: a temporary folder')
    parser.add_argument('--out', help='also write the JSON to this file')
    return parser.parse_args()


def make_jpeg_folder(folder: str, count: int, seed: int = 0) -> None:
    """Writes ``count`` JPEG photos of smooth colours and noise.

    Args:
        folder (str): Where to write them.
        count (int): How many.
        seed (int): Seed of their sizes and pixels. Defaults to 0.
    """
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    for index in range(count):
        height, width = rng.integers(*MADE_IMAGE_SIDES, size=2)
        rows, columns = np.mgrid[0:height, 0:width] / max(height, width)
        phases = rng.uniform(0, 2 * np.pi, size=3)
        smooth = np.stack([
            np.sin(2 * np.pi * (rows * rng.uniform(0.5, 3)) + phase) *
            np.cos(2 * np.pi * (columns * rng.uniform(0.5, 3)))
            for phase in phases
        ], -1)
        pixels = 127 + 100 * smooth + rng.normal(0, 12, smooth.shape)
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
            osp.join(folder, f'photo_{index:05d}.jpg'), quality=90)


def write_random_dinov2_teacher(path: str) -> None:
    """Writes random weights in the layout of dinov2_vits14_pretrain.pth.

    timm's ViT-S/14 at DINOv2's 518 px keeps the release's parameter names
    and shapes (384-d, 12 blocks, layer scale, position embeddings of 37 x
    37 patches); the release also holds the mask token.
    """
    model = timm.create_model(
        'vit_small_patch14_dinov2', img_size=518, num_classes=0)
    state_dict = model.state_dict()
    state_dict['mask_token'] = torch.zeros(1, model.embed_dim)
    torch.save(state_dict, path)


def run_side(command: list, out: str, env: Optional[dict] = None) -> Dict:
    """Runs one side in a process of its own and returns its JSON."""
    print('+ ' + ' '.join(command), flush=True)
    subprocess.run(command, check=True, env=env)
    with open(out) as file:
        return json.load(file)


def common_options(args: argparse.Namespace) -> list:
    """The options both sides' scripts take alike."""
    options = [
        '--batch-size', str(args.batch_size), '--img-size',
        str(args.img_size), '--steps', str(args.steps), '--warmup',
        str(args.warmup), '--workers', str(args.workers), '--matmul-size',
        str(args.matmul_size)
    ]
    if args.threads:
        options += ['--threads', str(args.threads)]
    return options


def disco_mm_row(args: argparse.Namespace, config: str, data: str,
                 teacher: str, out: str) -> Dict:
    """Times the step of a disco_mm config with ``benchmark_train.py``."""
    command = [
        sys.executable,
        osp.join(TOOLS, 'benchmark_train.py'),
        osp.join(REPO_ROOT, config), '--data', data, '--teacher-checkpoint',
        teacher, '--rows', 'step', '--out', out, *common_options(args),
        '--cfg-options', f'model.teacher.backbone.img_size={args.img_size}',
        'model.teacher.precision=fp32'
    ]
    if args.return_freed_memory:
        command.append('--return-freed-memory')
    report = run_side(command, out)
    return dict(report['rows']['step'], config=config,
                machine=report['settings']['machine'])


def lightly_train_missing(python: str) -> Optional[str]:
    """Why ``python`` cannot run the LightlyTrain side; None if it can."""
    try:
        found = subprocess.run(
            [python, '-c', 'import lightly_train'], capture_output=True,
            text=True)
    except OSError as error:
        return f'--lightly-python {python}: {error}'
    if found.returncode:
        error = (found.stderr.strip().splitlines() or ['no message'])[-1]
        return f'lightly-train is not installed for {python} ({error}).'
    return None


def lightly_train_row(args: argparse.Namespace, data: str, teacher: str,
                      work_dir: str, out: str) -> Dict:
    """Times LightlyTrain's step with ``lightly_train_step.py``."""
    command = [
        args.lightly_python,
        osp.join(TOOLS, 'lightly_train_step.py'), '--data', data,
        '--teacher', teacher, '--work-dir', work_dir, '--out', out,
        *common_options(args)
    ]
    env = dict(os.environ, LIGHTLY_TRAIN_EVENTS_DISABLED='1',
               LIGHTLY_TRAIN_CACHE_DIR=osp.join(work_dir, 'cache'))
    report = run_side(command, out, env)
    settings = report['settings']
    return dict(
        report['rows']['step'],
        config=f'lightly_train {settings["lightly_train"]}: '
        f'{settings["student"]} <- {settings["teacher"]}',
        machine=settings['machine'])


def markdown_table(rows: Dict) -> str:
    """The rows as a markdown table."""
    lines = [
        '| row | s / step | images/s | GFLOP / step | GFLOP/s '
        '| peak RSS MiB |', '|---|---|---|---|---|---|'
    ]
    for name, row in rows.items():
        lines.append(
            f'| {name} | {row["median_s"]:.3f} | {row["images_per_s"]:.2f} '
            f'| {row.get("gflop", "-")} | {row.get("gflop_per_s", "-")} '
            f'| {row["peak_mib"]:,} |')
    return '\n'.join(lines)


def compare(args: argparse.Namespace, work_dir: str) -> Dict:
    """Prepares the data and teacher, times every row, returns the report.
    """
    data = args.data
    if args.make_data:
        data = osp.join(work_dir, 'images')
        make_jpeg_folder(data, args.make_data)
    teacher = args.teacher
    if not teacher:
        teacher = osp.join(work_dir, 'dinov2_vits14_pretrain.pth')
        write_random_dinov2_teacher(teacher)
    rows, skipped = {}, {}
    for name, config in DISCO_MM_CONFIGS.items():
        rows[name] = disco_mm_row(args, config, data, teacher,
                                  osp.join(work_dir, f'{len(rows)}.json'))
    missing = lightly_train_missing(args.lightly_python)
    if missing:
        skipped[LIGHTLY_ROW] = missing
        print(f'{LIGHTLY_ROW}: left out. {missing}\n{INSTALL_HINT}',
              flush=True)
    else:
        rows[LIGHTLY_ROW] = lightly_train_row(
            args, data, teacher, osp.join(work_dir, 'lightly_train'),
            osp.join(work_dir, 'lightly_train.json'))
    settings = dict(
        data=args.data or f'{args.make_data} generated JPEG files',
        teacher=args.teacher or 'random weights',
        batch_size=args.batch_size,
        img_size=args.img_size,
        steps=args.steps,
        warmup=args.warmup,
        threads=args.threads,
        workers=args.workers)
    return dict(settings=settings, rows=rows, skipped=skipped)


def main() -> None:
    args = parse_args()
    if args.work_dir:
        os.makedirs(args.work_dir, exist_ok=True)
        report = compare(args, args.work_dir)
    else:
        with tempfile.TemporaryDirectory() as work_dir:
            report = compare(args, work_dir)
    print(f'# {report["settings"]}')
    for name, row in report['rows'].items():
        print(f'# {name}: {row["config"]}; {row["machine"]}')
    print(markdown_table(report['rows']))
    for name, reason in report['skipped'].items():
        print(f'{name}: left out. {reason}')
    result = json.dumps(report)
    print(result)
    if args.out:
        with open(args.out, 'w') as file:
            file.write(result + '\n')


if __name__ == '__main__':
    main()
