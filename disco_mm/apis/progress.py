"""Progress on the console for the tools that run long: count and ETA.

The bars are mmengine's :class:`~mmengine.utils.ProgressBar`: ``[>>>  ]
12/40, 3.1 task/s, elapsed: 4s, ETA: 9s``, redrawn in place on a terminal;
a training run's bar adds the share of time spent waiting for data.
"""
import contextlib
import logging
import os
import os.path as osp
import sys
import time
from typing import (Callable, Iterable, Iterator, List, Optional, TextIO,
                    Tuple)

from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.utils import ProgressBar, track_iter_progress
from torch import nn

from .cli import build_runner


def with_progress(loader: Iterable, title: str) -> Iterator:
    """Yields a data loader's batches while a bar shows count and ETA.

    Args:
        loader (Iterable): A data loader (with ``len`` and ``dataset``).
        title (str): What the batches are for, e.g. ``'bank'``.

    Yields:
        The loader's batches.
    """
    print(f'Extracting {title} features ({len(loader.dataset)} images, '
          f'{len(loader)} batches)',
          flush=True)
    yield from track_iter_progress((loader, len(loader)), file=sys.stdout)


class TrainingProgressHook(Hook):
    """Draws a training run's iterations as a bar with ETA and data wait.

    The bar is mmengine's ``[>>>  ] 12/40, 3.1 task/s, elapsed: 4s, ETA:
    9s`` followed by ``data wait: 23%``: the share of the wall time since
    training started that the loop spent waiting for the data loader. A
    wait runs from the end of an iteration's last hook (or the start of an
    epoch) to the next iteration's batch. mmengine's ``data_time`` is not
    that: :class:`~mmengine.hooks.IterTimerHook` stops its clock before the
    hooks of lower priority (logging, iteration checkpoints, the preemption
    check) and counts their work as the next iteration's data time.

    On a terminal the bar is redrawn after every iteration; elsewhere (a
    file, a pipe) about a hundred times per run, and after the last
    iteration. A log line of the runner's console starts on a new line
    under the bar. Only the main process draws.

    Args:
        file (TextIO, optional): Where the bar goes. Defaults to None: the
            ``sys.stdout`` of when training starts.
        clock (Callable[[], float]): Seconds from a fixed point. Defaults to
            :func:`time.perf_counter`.
    """

    priority = 'LOWEST'

    #: Redraws of a bar that does not go to a terminal.
    FILE_REDRAWS = 100

    def __init__(self,
                 file: Optional[TextIO] = None,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.file = file
        self.clock = clock
        self.bar: Optional[ProgressBar] = None
        self.first_epoch = 0
        self.started = self.waited = 0.0
        self.batch_asked: Optional[float] = None
        self.redraw_every = 1
        self.undrawn = 0
        self.bar_on_line = False
        self.wrapped_handlers: List[logging.StreamHandler] = []

    def data_wait_share(self) -> float:
        """The share of the time since training started spent on batches."""
        elapsed = self.clock() - self.started
        return self.waited / elapsed if elapsed > 0 else 0.0

    def before_train(self, runner) -> None:
        """Starts the bar over the iterations left (after any resume)."""
        self.first_epoch = runner.epoch
        if not is_main_process():
            return
        file = self.file or sys.stdout
        iterations = runner.max_iters - runner.iter
        self.redraw_every = (1 if file.isatty() else max(
            1, iterations // self.FILE_REDRAWS))
        self.started, self.waited, self.undrawn = self.clock(), 0.0, 0
        self.bar = ProgressBar(iterations, file=file)
        self.bar_on_line = True
        self._end_bar_line_before_logs(runner.logger, file)

    def _end_bar_line_before_logs(self, logger: logging.Logger,
                                  file: TextIO) -> None:
        """Makes the logger's handlers on the bar's stream end its line."""
        for handler in logger.handlers:
            if (isinstance(handler, logging.StreamHandler)
                    and handler.stream is file):
                handler.setStream(_AfterBar(file, self))
                self.wrapped_handlers.append(handler)

    def end_bar_line(self) -> None:
        """Ends the line of the bar, if something is about to follow it."""
        if self.bar_on_line:
            self.bar.file.write('\n')
            self.bar_on_line = False

    def before_train_epoch(self, runner) -> None:
        """Starts the wait for the epoch's first batch."""
        self.batch_asked = self.clock()

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        """Ends the wait for this iteration's batch."""
        if self.batch_asked is not None:
            self.waited += self.clock() - self.batch_asked
            self.batch_asked = None

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Advances the bar by one iteration; the next batch is awaited."""
        if self.bar is not None:
            self.undrawn += 1
            if (self.undrawn >= self.redraw_every
                    or runner.iter + 1 == runner.max_iters):
                self.bar.update(self.undrawn)
                self.bar.file.write(
                    f', data wait: {self.data_wait_share():.0%}')
                self.bar.file.flush()
                self.undrawn = 0
                self.bar_on_line = True
        self.batch_asked = self.clock()

    def after_train(self, runner) -> None:
        """Ends the bar's line and gives the log handlers their stream."""
        if self.bar is None:
            return
        self.end_bar_line()
        self.bar.file.flush()
        for handler in self.wrapped_handlers:
            handler.setStream(self.bar.file)
        self.wrapped_handlers = []


class _AfterBar:
    """A stream whose writes start on the line after a progress bar.

    Args:
        stream (TextIO): The stream the bar is drawn on.
        hook (TrainingProgressHook): The hook drawing the bar.
    """

    def __init__(self, stream: TextIO, hook: TrainingProgressHook) -> None:
        self.stream = stream
        self.hook = hook

    def write(self, text: str) -> int:
        """Ends the bar's line, then writes ``text``."""
        self.hook.end_bar_line()
        return self.stream.write(text)

    def flush(self) -> None:
        """Flushes the stream."""
        self.stream.flush()


def train_with_progress(cfg, log_file: str) -> Tuple[nn.Module, int]:
    """Trains through the mmengine Runner with only a bar on the console.

    What the Runner prints (environment, config dump, hooks, the logs of
    every iteration, its warnings) goes to ``log_file`` instead; the
    Runner's own log in its work dir holds the same. Whatever goes to
    stderr (Python warnings, tracebacks) stays on the console.

    Args:
        cfg (Config): The training config.
        log_file (str): Where the Runner's console output goes.

    Returns:
        tuple: The trained model and the epochs trained in this call (fewer
        than ``max_epochs`` when ``cfg.resume`` continued a run; 0 when that
        run had finished).
    """
    console = sys.stdout
    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    with open(log_file, 'a' if cfg.get('resume') else 'w') as log, \
            contextlib.redirect_stdout(log):
        runner = build_runner(cfg)
        progress = TrainingProgressHook(console)
        runner.register_hook(progress)
        try:
            model = runner.train()
            return model, runner.epoch - progress.first_epoch
        finally:
            # mmengine's console handler writes to the stream of its
            # creation, and the logger outlives the run (later logs of the
            # 'current' logger go to it): back to the console, not the
            # closed file.
            for handler in runner.logger.handlers:
                if (isinstance(handler, logging.StreamHandler)
                        and handler.stream is log):
                    handler.setStream(console)
