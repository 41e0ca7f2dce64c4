"""What the step benchmarks measure: time, operations, peak memory.

Shared by ``benchmark_train.py`` and ``lightly_train_step.py``; it needs
torch alone, so that a process timing another product's training loads
nothing of disco_mm (whose imports would add to that process's memory).
"""
import ctypes
import gc
import os
import re
import statistics
import time
from typing import Dict, List, Optional

import torch
from torch.utils.flop_counter import FlopCounterMode


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


class StepMeter:
    """Times steps that the caller brackets with :meth:`start` and
    :meth:`stop`, and counts the operations of the first one.

    The first ``warmup`` steps are not timed; the first of them runs under
    ``torch.utils.flop_counter.FlopCounterMode`` (which slows it), so that
    without a warm-up step nothing is counted. The peak memory is that of
    every step, from :meth:`MemoryMeter.reset` at the start of the first.

    Args:
        warmup (int): Untimed steps first.
        device (str): ``'cpu'`` or ``'cuda'``.
    """

    def __init__(self, warmup: int, device: str) -> None:
        self.warmup = warmup
        self.device = device
        self.memory = MemoryMeter(device)
        self.steps_done = 0
        self.times: List[float] = []
        self.flops: Optional[int] = None
        self.memory_start_mib = 0.0
        self._counter: Optional[FlopCounterMode] = None
        self._start = 0.0

    def start(self) -> None:
        """Marks the start of a step."""
        if self.steps_done == 0:
            self.memory.reset()
            self.memory_start_mib = self.memory.current_mib()
            if self.warmup:
                self._counter = FlopCounterMode(display=False)
                self._counter.__enter__()
        self._synchronize()
        self._start = time.perf_counter()

    def stop(self) -> None:
        """Marks the end of the step :meth:`start` began."""
        self._synchronize()
        elapsed = time.perf_counter() - self._start
        if self._counter is not None:
            self._counter.__exit__(None, None, None)
            self.flops = self._counter.get_total_flops()
            self._counter = None
        if self.steps_done >= self.warmup:
            self.times.append(elapsed)
        self.steps_done += 1

    def row(self) -> Dict:
        """The measured steps: ``times`` (s), ``median_s``,
        ``memory_start_mib``, ``peak_mib`` and, after a warm-up step, the
        ``gflop`` of one step."""
        if not self.times:
            raise RuntimeError(
                f'No step was timed: {self.steps_done} steps ran, '
                f'{self.warmup} of them warm-up.')
        row = dict(
            times=[round(value, 4) for value in self.times],
            median_s=statistics.median(self.times),
            memory_start_mib=round(self.memory_start_mib),
            peak_mib=round(self.memory.peak_mib()))
        if self.flops is not None:
            row['gflop'] = self.flops / 1e9
        return row

    def _synchronize(self) -> None:
        if self.device == 'cuda':
            torch.cuda.synchronize()


def matmul_gflop_per_s(size: int, device: str) -> float:
    """The best rate of three float32 products of two ``size``² matrices."""
    generator = torch.Generator().manual_seed(0)
    left, right = (torch.randn(size, size, generator=generator).to(device)
                   for _ in range(2))
    torch.mm(left, right)
    times = []
    for _ in range(3):
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(left, right)
        if device == 'cuda':
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return 2 * size**3 / min(times) / 1e9


def significant(value: float, digits: int = 4) -> float:
    """``value`` rounded to ``digits`` significant digits (a rate of a slow
    row would lose them to a fixed number of decimals)."""
    return float(f'{value:.{digits}g}')


def add_rates(report: Dict, batch_size: int, reference: float) -> None:
    """Adds images/s, GFLOP/s and the share of the matmul rate to the rows.

    Args:
        report (dict): The rows, with their median times and GFLOP.
        batch_size (int): Images per step, all processes together.
        reference (float): The float32 matmul's GFLOP/s.
    """
    for row in report.values():
        row['images_per_s'] = round(batch_size / row['median_s'], 2)
        if 'gflop' in row:
            row['gflop_per_s'] = significant(row['gflop'] / row['median_s'])
            row['of_matmul'] = significant(row['gflop_per_s'] / reference)
            row['gflop'] = significant(row['gflop'], 6)
        row['median_s'] = round(row['median_s'], 4)


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
