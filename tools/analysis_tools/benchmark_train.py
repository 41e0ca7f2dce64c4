"""Times a distillation training step against its floor.

The floor of a step is what it cannot avoid: the network passes it makes.
One training step first counts them (forward hooks on the student's
backbone, the teacher and the key encoder); then, in one process, on the
same batches (loaded before the timing: no data loading is timed), the
script measures for each row
the median time, images per second and peak memory (the process's peak RSS
on CPU, the peak of allocated memory on GPU), and prints a table and a
JSON line:

* ``step``: the config's training step (``model.train_step`` with the
  config's optimizer, data preprocessor and ``--amp``),
* ``mocov2``: for a method built on MoCo-v2 (DisCo), the MoCo-v2 step of
  the same student and queue: one student pass, one key-encoder pass, the
  queue, shuffle-BN and the optimizer,
* ``student_pass``: one forward and backward pass of the student on one
  view,
* ``key_encoder``: one pass of the momentum encoder on one view, for the
  methods that have one,
* ``teacher``: the teacher's forward pass on one view,
* ``floor``: the ``mocov2`` row, if any, plus every other counted pass
  times its row. Outside the ``mocov2`` row the floor leaves out the
  optimizer's update (about 10 ms for a ResNet-18 on CPU).

``--processes N`` times only the step, in N processes of distributed data
parallel (gloo on CPU, NCCL on GPU), each with ``--batch-size / N`` images
and, on CPU, ``--threads / N`` threads: the same global batch as one
process, to compare one process with several threads against several
processes of fewer threads. Its peak memory is the sum over the processes.

Each row also gets the floating-point operations of one step
(``torch.utils.flop_counter.FlopCounterMode``, counted in the first
warm-up step: none without one), the rate they run at, and that rate as a
fraction of a float32 matrix product timed in the same process
(``--matmul-size``): how close the row comes to what the machine can do.

The batches are random pixels by default. ``--data FOLDER`` makes them
from a folder of images instead, through the config's training pipeline
(its random resized crops at ``--img-size``), as tools/train.py loads
them.

Images per second counts one image per sample (each has two or more
views), as the official code's benchmark does. Without
``--teacher-checkpoint`` the teacher gets random weights of the config's
architecture: speed and memory do not depend on its values, and nothing
is trained.

Example:
    python tools/analysis_tools/benchmark_train.py \\
        configs/disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py \\
        --batch-size 32 --img-size 112 --steps 10
"""
import argparse
import inspect
import json
import os
import os.path as osp
import socket
import sys
import tempfile
from collections import Counter
from contextlib import nullcontext, redirect_stdout
from typing import Callable, Dict, List, Optional

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from mmengine.config import Config, DictAction
from mmengine.logging import MMLogger
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.utils import ProgressBar
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample
from step_measures import (StepMeter, add_rates, machine, matmul_gflop_per_s)

import disco_mm  # noqa: F401  (registers the models)
from disco_mm.apis import keep_freed_cpu_memory
from disco_mm.checkpoints import save_checkpoint_file
from disco_mm.engine import amp_optim_wrapper_type
from disco_mm.models.algorithms import BaseDistiller, MoCoV2Student
from disco_mm.precision import supported_dtype


#: The rows a run can time; ``floor`` adds up the last four.
ROWS = ('step', 'mocov2', 'student_pass', 'key_encoder', 'teacher')
#: The passes a MoCo-v2 step makes, which its row stands for in a floor.
MOCOV2_PASSES = Counter(student_pass=1, key_encoder=1)


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Time a distillation step and its floor')
    parser.add_argument('config', help='training config')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--batch-size', type=int, default=32,
                        help='images per view and step')
    parser.add_argument('--img-size', type=int, default=224)
    parser.add_argument(
        '--data',
        help='a folder of images (sub-folders allowed): batches of these '
        'through the config\'s training pipeline; default: random pixels')
    parser.add_argument('--workers', type=int, default=0,
                        help='data-loader workers that load --data')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision as tools/train.py --amp runs '
                        'it: fp16 with loss scaling on GPU, bf16 on CPU')
    parser.add_argument('--steps', type=int, default=10,
                        help='timed steps per row')
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps per row before timing')
    parser.add_argument('--threads', type=int,
                        help='CPU threads (torch.set_num_threads), shared '
                        'by the processes of --processes')
    parser.add_argument(
        '--processes', type=int, default=1,
        help='time the step alone in this many data-parallel processes, '
        'splitting the batch and the threads between them')
    parser.add_argument('--queue-len', type=int,
                        help='override model.queue.length (default: config)')
    parser.add_argument('--teacher-checkpoint',
                        help='a real teacher checkpoint; default: random '
                        'weights of the config\'s teacher architecture')
    parser.add_argument(
        '--rows', default=','.join(ROWS),
        help='comma-separated rows to time (the floor needs every row its '
        'method counts)')
    parser.add_argument(
        '--return-freed-memory', action='store_true',
        help='leave glibc\'s default of returning freed memory to the '
        'kernel (tools/train.py keeps it on CPU, see keep_freed_cpu_memory)')
    parser.add_argument(
        '--matmul-size', type=int, default=4096,
        help='side of the float32 matrix product whose rate is the '
        'reference of each row\'s GFLOP/s')
    parser.add_argument('--out', help='also write the JSON to this file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. model.teacher.bn_train_mode=True')
    return parser.parse_args()


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


def synthetic_batch(batch_size: int, img_size: int, num_views: int,
                    seed: int) -> dict:
    """Views of random 8-bit images, as the data loader gives them."""
    generator = torch.Generator().manual_seed(seed)
    views = [
        torch.randint(0, 256, (batch_size, 3, img_size, img_size),
                      generator=generator, dtype=torch.uint8)
        for _ in range(num_views)
    ]
    return dict(
        inputs=views, data_samples=[DataSample() for _ in range(batch_size)])


def with_crop_size(transforms, size: int):
    """A copy of a pipeline whose random resized crops give ``size`` px."""
    if isinstance(transforms, (list, tuple)):
        return [with_crop_size(transform, size) for transform in transforms]
    if not isinstance(transforms, dict):
        return transforms
    copy = {
        key: with_crop_size(value, size)
        for key, value in transforms.items()
    }
    if copy.get('type') == 'RandomResizedCrop':
        copy['scale'] = size
    return copy


def folder_batches(cfg: Config, folder: str, batch_size: int, img_size: int,
                   workers: int, count: int) -> List[dict]:
    """Batches of a folder's images as the config's data loader gives them.

    Args:
        cfg (Config): The config; its training pipeline makes the views.
        folder (str): The images (sub-folders allowed, no labels).
        batch_size (int): Images per batch.
        img_size (int): Side of the pipeline's random resized crops.
        workers (int): Data-loader worker processes.
        count (int): Batches wanted; fewer when the folder has fewer.

    Returns:
        list[dict]: The batches.
    """
    loader_cfg = cfg.train_dataloader.to_dict()
    loader_cfg.update(
        batch_size=batch_size,
        num_workers=workers,
        persistent_workers=False,
        drop_last=True,
        dataset=dict(
            type='CheckedCustomDataset',
            data_root=folder,
            with_label=False,
            pipeline=with_crop_size(loader_cfg['dataset']['pipeline'],
                                    img_size)))
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    if not len(loader):
        raise SystemExit(f'--data {folder}: {len(loader.dataset)} images, '
                         f'fewer than one batch of --batch-size '
                         f'{batch_size}.')
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == count:
            break
    return batches


def time_row(name: str, step: Callable[[dict], None], batches: List[dict],
             warmup: int, steps: int, device: str) -> Dict:
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
        device (str): ``'cpu'`` or ``'cuda'``.

    Returns:
        dict: The :meth:`StepMeter.row` of the steps and, for training
        steps, the total ``losses`` of the timed steps (the same in every
        run of the same settings; compare them between runs with and
        without ``--amp``).
    """
    print(f'{name}: {warmup} warm-up and {steps} timed steps', flush=True)
    progress = ProgressBar(warmup + steps, file=sys.stdout)
    meter = StepMeter(warmup, device)
    losses = []
    for index in range(warmup + steps):
        meter.start()
        log_vars = step(batches[index % len(batches)])
        meter.stop()
        progress.update()
        if log_vars and index >= warmup:
            losses.append(round(float(log_vars['loss'].detach()), 5))
    print(flush=True)
    row = meter.row()
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


def first_layer(network: torch.nn.Module) -> torch.nn.Module:
    """The first layer with weights a network registers: its stem or patch
    projection, which every pass over a batch runs once."""
    return next(module for module in network.modules()
                if not any(module.children())
                and any(True for _ in module.parameters(recurse=False)))


def count_passes(model, batch: dict, optim_wrapper) -> Counter:
    """Runs one training step and counts the network passes it makes.

    A pass is counted where it enters the network's first layer, so that
    passes through another entry point than ``forward`` (a teacher's
    ``forward_with_patch_tokens``, a ViT student's masked pass) count too.

    Args:
        model: The config's model.
        batch (dict): A batch as the data loader gives it.
        optim_wrapper: The model's optimizer wrapper.

    Returns:
        Counter: Passes of the student's backbone (``student_pass``), the
        teacher (``teacher``) and the key encoder (``key_encoder``), each
        over one batch of images.
    """
    counts = Counter()
    networks = dict(
        student_pass=getattr(model, 'backbone', None),
        teacher=getattr(model, 'teacher', None),
        key_encoder=getattr(model, 'key_encoder', None))
    handles = [
        first_layer(network).register_forward_hook(
            lambda *_, name=name: counts.update([name]))
        for name, network in networks.items() if network is not None
    ]
    try:
        model.train_step(batch, optim_wrapper)
    finally:
        for handle in handles:
            handle.remove()
    return Counter({name: counts[name] for name in networks if counts[name]})


def optim_config(args: argparse.Namespace, cfg: Config) -> dict:
    """The config's optimizer wrapper, mixed precision with ``--amp``."""
    optim_cfg = cfg.optim_wrapper.to_dict()
    if args.amp:
        optim_cfg['type'] = amp_optim_wrapper_type(args.device)
    return optim_cfg


def benchmark(args: argparse.Namespace, cfg: Config) -> Dict:
    """Times every requested row; returns the report as a dict."""
    device, rows = args.device, args.rows.split(',')
    optim_cfg = optim_config(args, cfg)
    autocast = (
        torch.autocast(device, dtype=torch.bfloat16 if device == 'cpu' else
                       torch.float16) if args.amp else nullcontext())
    report = {}
    model, optim_wrapper = build_for_training(cfg.model.to_dict(), optim_cfg,
                                              device)
    batches = folder_batches(
        cfg, args.data, args.batch_size, args.img_size, args.workers,
        args.warmup + args.steps) if args.data else [
            synthetic_batch(args.batch_size, args.img_size,
                            getattr(model, 'num_views', 2), seed)
            for seed in range(2)
        ]
    passes = count_passes(model, batches[0], optim_wrapper)
    if isinstance(model, MoCoV2Student):
        passes = passes - MOCOV2_PASSES + Counter(mocov2=1)
    if 'step' in rows:
        report['step'] = time_row(
            'step', lambda batch: model.train_step(batch, optim_wrapper),
            batches, args.warmup, args.steps, device)
    views = [preprocessed_views(model, batch)[0] for batch in batches]

    def student_pass(view: torch.Tensor) -> None:
        with autocast:
            loss = model.embed(view).float().square().sum()
        loss.backward()
        model.zero_grad(set_to_none=True)

    def network_pass(network: torch.nn.Module) -> Callable:
        def run(view: torch.Tensor) -> None:
            with torch.no_grad(), autocast:
                network(view)

        return run

    steps = dict(student_pass=student_pass)
    for name in ('teacher', 'key_encoder'):
        if passes[name]:
            steps[name] = network_pass(getattr(model, name))
    for name, step in steps.items():
        if name in rows:
            report[name] = time_row(name, step, views, args.warmup,
                                    args.steps, device)
    del model, optim_wrapper, steps
    if passes['mocov2'] and 'mocov2' in rows:
        student, student_optim = build_for_training(
            student_config(cfg.model.to_dict()), optim_cfg, device)
        report['mocov2'] = time_row(
            'mocov2', lambda batch: student.train_step(batch, student_optim),
            batches, args.warmup, args.steps, device)
    if set(passes) <= report.keys():
        report['floor'] = dict(
            median_s=sum(count * report[name]['median_s']
                         for name, count in passes.items()),
            passes=dict(passes))
        if all('gflop' in report[name] for name in passes):
            report['floor']['gflop'] = sum(count * report[name]['gflop']
                                           for name, count in passes.items())
    return report


def distributed_step(rank: int, args: argparse.Namespace, cfg: Config,
                     port: int, results: mp.SimpleQueue) -> None:
    """Times the step in one of ``--processes`` data-parallel processes.

    Args:
        rank (int): This process's rank.
        args (argparse.Namespace): The command line.
        cfg (Config): The config, its teacher checkpoint written.
        port (int): A free local port for the process group.
        results (mp.SimpleQueue): Where rank 0 puts the ``step`` row.
    """
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    device = args.device
    if device == 'cuda':
        torch.cuda.set_device(rank)
        device = f'cuda:{rank}'
    dist.init_process_group(
        'nccl' if args.device == 'cuda' else 'gloo', rank=rank,
        world_size=args.processes)
    set_up_process(args, (args.threads or torch.get_num_threads()) //
                   args.processes)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    torch.manual_seed(0)
    model, optim_wrapper = build_for_training(
        cfg.model.to_dict(), optim_config(args, cfg), device)
    parallel = MMDistributedDataParallel(
        module=model, device_ids=[rank] if args.device == 'cuda' else None)
    batches = [
        synthetic_batch(args.batch_size // args.processes, args.img_size,
                        getattr(model, 'num_views', 2),
                        seed + 2 * rank) for seed in range(2)
    ]
    with open(os.devnull, 'w') as silent, redirect_stdout(
            silent) if rank else nullcontext():
        row = time_row('step',
                       lambda batch: parallel.train_step(batch, optim_wrapper),
                       batches, args.warmup, args.steps, args.device)
    peaks, flops = [None] * args.processes, [None] * args.processes
    dist.all_gather_object(peaks, row['peak_mib'])
    dist.all_gather_object(flops, row.get('gflop'))
    if rank == 0:
        row.update(peak_mib=sum(peaks), peak_mib_per_process=peaks)
        if None not in flops:
            row['gflop'] = sum(flops)
        results.put(row)
    dist.destroy_process_group()


def benchmark_processes(args: argparse.Namespace, cfg: Config) -> Dict:
    """Times the step in ``--processes`` data-parallel processes."""
    if args.batch_size % args.processes:
        raise SystemExit(f'--batch-size {args.batch_size} does not split '
                         f'into {args.processes} equal process batches.')
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    results = mp.get_context('spawn').SimpleQueue()
    mp.spawn(distributed_step, args=(args, cfg, port, results),
             nprocs=args.processes)
    return dict(step=results.get())


def set_up_process(args: argparse.Namespace, threads: Optional[int]) -> None:
    """Threads, memory and logging of a benchmarking process."""
    if threads:
        torch.set_num_threads(threads)
    if args.device == 'cpu' and not args.return_freed_memory:
        keep_freed_cpu_memory()
    MMLogger.get_instance('benchmark_train', log_level='WARNING')


def print_table(report: Dict, args: argparse.Namespace,
                reference: float) -> None:
    """Prints the rows, the matmul reference and the step's ratio to its
    floor."""
    print(f'{"row":<14}{"median s":>10}{"images/s":>10}{"peak MiB":>10}'
          f'{"GFLOP":>10}{"GFLOP/s":>10}{"of matmul":>11}')
    for name, row in report.items():
        rates = (f'{row["gflop"]:>10.4g}{row["gflop_per_s"]:>10.4g}'
                 f'{row["of_matmul"]:>11.3f}' if 'gflop' in row else '')
        print(f'{name:<14}{row["median_s"]:>10.3f}'
              f'{row["images_per_s"]:>10.2f}{row.get("peak_mib", ""):>10}'
              f'{rates}')
    print(f'float32 matmul of {args.matmul_size}^2: '
          f'{reference:.1f} GFLOP/s')
    if 'step' in report and 'floor' in report:
        ratio = report['step']['median_s'] / report['floor']['median_s']
        passes = ' + '.join(f'{count} x {name}' for name, count in
                            report['floor']['passes'].items())
        print(f'floor = {passes}')
        print(f'step / floor = {ratio:.3f}')


def main() -> None:
    args = parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: no GPU is visible to torch.')
    if args.data and args.processes > 1:
        raise SystemExit('--data times one process: leave out --processes.')
    set_up_process(args, args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.queue_len:
        if not cfg.model.get('queue'):
            raise SystemExit(f'--queue-len: the model of {args.config} has '
                             'no queue (model.queue); leave the option out.')
        cfg.model.queue.length = args.queue_len
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as directory:
        if cfg.model.get('teacher'):
            cfg.model.teacher.checkpoint = (
                args.teacher_checkpoint or random_teacher_checkpoint(
                    cfg.model.teacher, directory))
        report = (benchmark_processes(args, cfg)
                  if args.processes > 1 else benchmark(args, cfg))
    reference = matmul_gflop_per_s(args.matmul_size, args.device)
    add_rates(report, args.batch_size, reference)
    teacher_dtype = cfg.model.get('teacher') and str(
        supported_dtype(cfg.model.teacher.get('precision', 'auto'),
                        'model.teacher.precision'))
    settings = dict(
        config=args.config, device=args.device, batch_size=args.batch_size,
        img_size=args.img_size, data=args.data, amp=args.amp,
        teacher_dtype=teacher_dtype,
        steps=args.steps, warmup=args.warmup, processes=args.processes,
        matmul_gflop_per_s=round(reference, 1), machine=machine())
    print(f'# {settings}')
    print_table(report, args, reference)
    result = json.dumps(dict(settings=settings, rows=report))
    print(result)
    if args.out:
        with open(args.out, 'w') as file:
            file.write(result + '\n')


if __name__ == '__main__':
    main()
