"""Times a distillation training step against its floor, on synthetic data.

The floor of a DisCo step is what it cannot avoid: a plain MoCo-v2 step of
the same student, one more student pass with gradient (DisCo embeds both
views with gradient, MoCo-v2 one) and the teacher's forward pass on both
views. In one process, on the same random batches (no data loading), the
script measures for each row the median step time, images per second and
peak memory (the process's peak RSS on CPU, the peak of allocated memory
on GPU), then prints a table and a JSON line:

* ``step``: the config's training step (``model.train_step`` with the
  config's optimizer, data preprocessor and ``--amp``),
* ``mocov2``: the MoCo-v2 step of the same student and queue,
* ``student_pass``: one forward and backward pass of the student,
* ``teacher``: the teacher's forward pass on both views,
* ``floor``: the sum of the last three.

Images per second counts one image per sample (each has two views), as
the official code's benchmark does. Without ``--teacher-checkpoint`` the
teacher gets random weights of the config's architecture: speed and memory
do not depend on its values, and nothing is trained.

Example:
    python tools/analysis_tools/benchmark_train.py \\
        configs/disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py \\
        --batch-size 32 --img-size 112 --steps 10
"""
import argparse
import ctypes
import gc
import inspect
import json
import os
import os.path as osp
import re
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import disco_mm  # noqa: F401  (registers the models)
from disco_mm.apis import keep_freed_cpu_memory
from disco_mm.checkpoints import save_checkpoint_file
from disco_mm.engine import amp_optim_wrapper_type
from disco_mm.models.algorithms import BaseDistiller, MoCoV2Student


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Time a distillation step and its floor')
    parser.add_argument('config', help='training config')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--batch-size', type=int, default=32,
                        help='images per view and step')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision as tools/train.py --amp runs '
                        'it: fp16 with loss scaling on GPU, bf16 on CPU')
    parser.add_argument('--steps', type=int, default=10,
                        help='timed steps per row')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps per row before timing')
    parser.add_argument('--threads', type=int,
                        help='CPU threads (torch.set_num_threads)')
    parser.add_argument('--queue-len', type=int,
                        help='override model.queue.length (default: config)')
    parser.add_argument('--teacher-checkpoint',
                        help='a real teacher checkpoint; default: random '
                        'weights of the config\'s teacher architecture')
    parser.add_argument('--rows', default='step,mocov2,student_pass,teacher',
                        help='comma-separated rows to time')
    parser.add_argument(
        '--return-freed-memory', action='store_true',
        help='leave glibc\'s default of returning freed memory to the '
        'kernel (tools/train.py keeps it on CPU, see keep_freed_cpu_memory)')
    parser.add_argument('--out', help='also write the JSON to this file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. model.teacher.bn_train_mode=True')
    return parser.parse_args()


class MemoryMeter:
    """The peak memory of one row: RSS of the process, or CUDA allocated.

    Args:
        device (str): ``'cpu'`` or ``'cuda'``.
    """

    def __init__(self, device: str) -> None:
        self.device = device

    def reset(self) -> None:
        """Frees what can be freed and starts a new peak."""
        gc.collect()
        if self.device == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
            return
        try:
            ctypes.CDLL('libc.so.6').malloc_trim(0)
        except (OSError, AttributeError):
            pass
        # Writing 5 to clear_refs resets the kernel's peak RSS (VmHWM).
        with open('/proc/self/clear_refs', 'w') as clear_refs:
            clear_refs.write('5')

    def current_mib(self) -> float:
        """Memory in use now, MiB."""
        if self.device == 'cuda':
            return torch.cuda.memory_allocated() / 2**20
        return self._status_kib('VmRSS') / 1024

    def peak_mib(self) -> float:
        """The peak since :meth:`reset`, MiB."""
        if self.device == 'cuda':
            return torch.cuda.max_memory_allocated() / 2**20
        return self._status_kib('VmHWM') / 1024

    @staticmethod
    def _status_kib(field: str) -> int:
        with open('/proc/self/status') as status:
            return int(re.search(rf'^{field}:\s+(\d+)', status.read(),
                                 re.M).group(1))


def random_teacher_checkpoint(teacher_cfg: dict, directory: str) -> str:
    """Writes random weights of a teacher architecture in mmpretrain layout.

    Args:
        teacher_cfg (dict): The config's ``model.teacher``.
        directory (str): Where to write the file.

    Returns:
        str: The checkpoint's path.
    """
    parts = {'backbone': MODELS.build(teacher_cfg['backbone'])}
    if teacher_cfg.get('neck'):
        parts['neck'] = MODELS.build(teacher_cfg['neck'])
    state_dict = {
        f'{name}.{key}': value
        for name, part in parts.items()
        for key, value in part.state_dict().items()
    }
    path = osp.join(directory, 'random_teacher.pth')
    save_checkpoint_file(dict(state_dict=state_dict), path)
    return path


def student_config(model_cfg: dict) -> dict:
    """The config of the plain MoCo-v2 step of a config's student.

    Args:
        model_cfg (dict): The config's ``model``.

    Returns:
        dict: ``MoCoV2Student`` with the student's backbone, projector,
        head, key encoder and queue, and no teacher.
    """
    accepted = {
        *inspect.signature(MoCoV2Student.__init__).parameters,
        *inspect.signature(BaseDistiller.__init__).parameters
    }
    config = {
        key: value
        for key, value in model_cfg.items()
        if key in accepted and key not in ('teacher', 'distill_loss')
    }
    return dict(config, type='MoCoV2Student')


def synthetic_batch(batch_size: int, img_size: int, seed: int) -> dict:
    """Two views of random 8-bit images, as the data loader gives them."""
    generator = torch.Generator().manual_seed(seed)
    views = [
        torch.randint(0, 256, (batch_size, 3, img_size, img_size),
                      generator=generator, dtype=torch.uint8)
        for _ in range(2)
    ]
    return dict(
        inputs=views, data_samples=[DataSample() for _ in range(batch_size)])


def time_row(name: str, step: Callable[[dict], None], batches: List[dict],
             warmup: int, steps: int, memory: MemoryMeter,
             device: str) -> Dict:
    """Runs ``step`` and returns its times and peak memory.

    A progress bar (count, ETA) advances between the steps, outside the
    timed part.

    Args:
        name (str): The row, for the progress bar.
        step (callable): One step on a batch; a training step returns its
            logged losses.
        batches (list[dict]): The batches, cycled through.
        warmup (int): Untimed steps first.
        steps (int): Timed steps.
        memory (MemoryMeter): The meter of the run's device.
        device (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: ``times`` (s), ``median_s``, ``memory_start_mib``,
        ``peak_mib`` and, for training steps, the total ``losses`` of the
        timed steps (the same in every run of the same settings; compare
        them between runs with and without ``--amp``).
    """
    print(f'{name}: {warmup} warm-up and {steps} timed steps', flush=True)
    progress = ProgressBar(warmup + steps, file=sys.stdout)
    memory.reset()
    start_mib = memory.current_mib()
    for index in range(warmup):
        step(batches[index % len(batches)])
        progress.update()
    times, losses = [], []
    for index in range(steps):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        log_vars = step(batches[index % len(batches)])
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        progress.update()
        if log_vars:
            losses.append(round(float(log_vars['loss'].detach()), 5))
    print(flush=True)
    row = dict(
        times=[round(value, 4) for value in times],
        median_s=statistics.median(times),
        memory_start_mib=round(start_mib),
        peak_mib=round(memory.peak_mib()))
    if losses:
        row['losses'] = losses
    return row


def build_for_training(model_cfg: dict, optim_cfg: dict, device: str):
    """Builds and initialises a model and its optimizer wrapper."""
    model = MODELS.build(model_cfg)
    model.init_weights()
    model.to(device).train()
    return model, build_optim_wrapper(model, optim_cfg)


def preprocessed_views(model, batch: dict) -> List[torch.Tensor]:
    """The normalised views a batch becomes in the model's preprocessor."""
    with torch.no_grad():
        return model.data_preprocessor(batch, True)['inputs']


def benchmark(args: argparse.Namespace, cfg: Config) -> Dict:
    """Times every requested row; returns the report as a dict."""
    device, rows = args.device, args.rows.split(',')
    memory = MemoryMeter(device)
    batches = [
        synthetic_batch(args.batch_size, args.img_size, seed)
        for seed in range(2)
    ]
    optim_cfg = cfg.optim_wrapper.to_dict()
    if args.amp:
        optim_cfg['type'] = amp_optim_wrapper_type(device)
    autocast = (
        torch.autocast(device, dtype=torch.bfloat16 if device == 'cpu' else
                       torch.float16) if args.amp else nullcontext())
    report = {}
    model, optim_wrapper = build_for_training(cfg.model.to_dict(), optim_cfg,
                                              device)
    if 'step' in rows:
        report['step'] = time_row(
            'step', lambda batch: model.train_step(batch, optim_wrapper),
            batches, args.warmup, args.steps, memory, device)
    teacher = model.teacher
    del model, optim_wrapper
    student, student_optim = build_for_training(
        student_config(cfg.model.to_dict()), optim_cfg, device)
    if 'mocov2' in rows:
        report['mocov2'] = time_row(
            'mocov2', lambda batch: student.train_step(batch, student_optim),
            batches, args.warmup, args.steps, memory, device)
    views = [preprocessed_views(student, batch) for batch in batches]

    def student_pass(batch_views: List[torch.Tensor]) -> None:
        with autocast:
            loss = student.embed(batch_views[1]).float().square().sum()
        loss.backward()
        student.zero_grad(set_to_none=True)

    def teacher_pass(batch_views: List[torch.Tensor]) -> None:
        with autocast:
            teacher(batch_views[0]), teacher(batch_views[1])

    for name, step in (('student_pass', student_pass), ('teacher',
                                                        teacher_pass)):
        if name in rows:
            report[name] = time_row(name, step, views, args.warmup,
                                    args.steps, memory, device)
    if {'mocov2', 'student_pass', 'teacher'} <= report.keys():
        report['floor'] = dict(median_s=sum(
            report[name]['median_s']
            for name in ('mocov2', 'student_pass', 'teacher')))
    for row in report.values():
        row['images_per_s'] = round(args.batch_size / row['median_s'], 2)
        row['median_s'] = round(row['median_s'], 4)
    return report


def machine() -> str:
    """The CPU or GPU the run measured, and torch's version and threads."""
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name()
    else:
        with open('/proc/cpuinfo') as cpuinfo:
            found = re.search(r'^model name\s*:\s*(.+)$', cpuinfo.read(),
                              re.M)
        name = f'{found.group(1) if found else "CPU"} x{os.cpu_count()}'
    return (f'{name}, torch {torch.__version__}, '
            f'{torch.get_num_threads()} threads')


def print_table(report: Dict, args: argparse.Namespace) -> None:
    """Prints the rows and the step's ratio to its floor."""
    print(f'{"row":<14}{"median s":>10}{"images/s":>10}{"peak MiB":>10}')
    for name, row in report.items():
        peak = row.get('peak_mib', '')
        print(f'{name:<14}{row["median_s"]:>10.3f}'
              f'{row["images_per_s"]:>10.2f}{peak:>10}')
    if 'step' in report and 'floor' in report:
        ratio = report['step']['median_s'] / report['floor']['median_s']
        print(f'step / floor = {ratio:.3f}')


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no GPU is visible to torch.')
    if args.device == 'cpu' and not args.return_freed_memory:
        keep_freed_cpu_memory()
    MMLogger.get_instance('benchmark_train', log_level='WARNING')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.queue_len:
        cfg.model.queue.length = args.queue_len
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as directory:
        if cfg.model.get('teacher'):
            cfg.model.teacher.checkpoint = (
                args.teacher_checkpoint or random_teacher_checkpoint(
                    cfg.model.teacher, directory))
        report = benchmark(args, cfg)
    settings = dict(
        config=args.config, device=args.device, batch_size=args.batch_size,
        img_size=args.img_size, amp=args.amp, steps=args.steps,
        warmup=args.warmup, machine=machine())
    print(f'# {settings}')
    print_table(report, args)
    result = json.dumps(dict(settings=settings, rows=report))
    print(result)
    if args.out:
        with open(args.out, 'w') as file:
            file.write(result + '\n')


if __name__ == '__main__':
    main()
