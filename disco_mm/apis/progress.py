"""Progress on the console for the tools that run long: count and ETA.

The bars are mmengine's :class:`~mmengine.utils.ProgressBar`: ``[>>>  ]
12/40, 3.1 task/s, elapsed: 4s, ETA: 9s``, redrawn in place on a terminal.
"""
import contextlib
import logging
import os
import os.path as osp
import sys
from typing import Iterable, Iterator, Optional, TextIO, Tuple

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
    """Draws a training run's iterations as a progress bar with ETA.

    Args:
        file (TextIO, optional): Where the bar goes. Defaults to None: the
            ``sys.stdout`` of when training starts.
    """

    priority = 'VERY_LOW'

    def __init__(self, file: Optional[TextIO] = None) -> None:
        self.file = file
        self.bar: Optional[ProgressBar] = None
        self.first_epoch = 0

    def before_train(self, runner) -> None:
        """Starts the bar over the iterations left (after any resume)."""
        self.first_epoch = runner.epoch
        self.bar = ProgressBar(
            runner.max_iters - runner.iter, file=self.file or sys.stdout)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Advances the bar by one iteration."""
        self.bar.update()

    def after_train(self, runner) -> None:
        """Ends the bar's line."""
        self.bar.file.write('\n')
        self.bar.file.flush()


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
