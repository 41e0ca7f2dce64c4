"""Times LightlyTrain's ``distillation`` training step in this process.

The LightlyTrain side of ``compare_lightly_train.py``, which runs it with
an interpreter where lightly-train is installed (``--lightly-python``).
lightly-train (AGPL-3.0) is not a dependency of disco_mm: this script only
calls its public ``lightly_train.pretrain`` and imports nothing of
disco_mm, so that its process holds LightlyTrain's memory alone.

The run is LightlyTrain's own training loop (PyTorch Lightning), as it
ships, stopped after ``--warmup + --steps`` steps (the trainer's
``max_steps``): a torchvision ResNet-18 student, the DINOv2 ViT-S/14
teacher without registers (``dinov2/vits14-noreg``, the layout of
``dinov2_vits14_pretrain.pth``) read from ``--teacher``, fp32
(``precision='32-true'``), on the CPU. A step is timed from outside, with
torch's global optimizer-step hooks: Lightning runs the whole step inside
``optimizer.step(closure)`` (the closure makes the forward pass, the
loss, ``zero_grad`` and the backward pass; then the gradients are clipped
and AdamW updates), so the hooks bracket exactly one step and nothing of
LightlyTrain changes. Data loading, logging and checkpoints happen
between the hooks' brackets and are not timed. LightlyTrain's telemetry
is switched off (``LIGHTLY_TRAIN_EVENTS_DISABLED=1``) and with a teacher
file and a torchvision student it downloads nothing.
"""
import argparse
import json
import os
import os.path as osp
import statistics

import lightly_train
import torch
from torch.optim.optimizer import (register_optimizer_step_post_hook,
                                   register_optimizer_step_pre_hook)
from step_measures import StepMeter, add_rates, machine, matmul_gflop_per_s

#: LightlyTrain's name of the student, and of the teacher whose layout is
#: that of dinov2_vits14_pretrain.pth (its ``dinov2/vits14`` has registers).
STUDENT = 'torchvision/resnet18'
TEACHER = 'dinov2/vits14-noreg'
#: The metric LightlyTrain logs for each step it runs.
OWN_STEP_TIME = 'profiling/batch_time'


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Time LightlyTrain\'s distillation step')
    parser.add_argument('--data', required=True, help='folder of images')
    parser.add_argument(
        '--teacher', required=True,
        help='DINOv2 ViT-S/14 weights in the layout of '
        'dinov2_vits14_pretrain.pth')
    parser.add_argument('--work-dir', required=True,
                        help='LightlyTrain\'s output folder')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int)
    parser.add_argument('--workers', type=int, default=0)
    parser.add_argument('--matmul-size', type=int, default=4096)
    parser.add_argument('--out', required=True,
                        help='where to write the row as JSON')
    return parser.parse_args()


def own_step_times(work_dir: str) -> list:
    """The step times LightlyTrain logged itself (its metrics file)."""
    path = osp.join(work_dir, 'metrics.jsonl')
    if not osp.exists(path):
        return []
    with open(path) as file:
        records = [json.loads(line) for line in file if line.strip()]
    return [record[OWN_STEP_TIME] for record in records
            if OWN_STEP_TIME in record]


def main() -> None:
    args = parse_args()
    os.environ['LIGHTLY_TRAIN_EVENTS_DISABLED'] = '1'
    if args.threads:
        torch.set_num_threads(args.threads)
    meter = StepMeter(args.warmup, 'cpu')
    threads = []

    def step_starts(*_) -> None:
        threads.append(torch.get_num_threads())
        meter.start()

    hooks = [
        register_optimizer_step_pre_hook(step_starts),
        register_optimizer_step_post_hook(lambda *_: meter.stop())
    ]
    try:
        lightly_train.pretrain(
            out=args.work_dir,
            data=args.data,
            model=STUDENT,
            method='distillation',
            method_args=dict(teacher=TEACHER, teacher_weights=args.teacher),
            batch_size=args.batch_size,
            num_workers=args.workers,
            accelerator='cpu',
            devices=1,
            precision='32-true',
            float32_matmul_precision='highest',
            transform_args=dict(image_size=(args.img_size, args.img_size)),
            trainer_args=dict(
                max_steps=args.warmup + args.steps, log_every_n_steps=1),
            overwrite=True,
            seed=0)
    finally:
        for hook in hooks:
            hook.remove()
    row = meter.row()
    own = own_step_times(args.work_dir)[args.warmup:]
    if own:
        row['own_median_s'] = round(statistics.median(own), 4)
    reference = matmul_gflop_per_s(args.matmul_size, 'cpu')
    add_rates(dict(step=row), args.batch_size, reference)
    row['threads_in_step'] = sorted(set(threads))
    settings = dict(
        lightly_train=lightly_train.__version__,
        student=STUDENT,
        teacher=TEACHER,
        batch_size=args.batch_size,
        img_size=args.img_size,
        steps=args.steps,
        warmup=args.warmup,
        matmul_gflop_per_s=round(reference, 1),
        machine=machine())
    with open(args.out, 'w') as file:
        json.dump(dict(settings=settings, rows=dict(step=row)), file)


if __name__ == '__main__':
    main()
