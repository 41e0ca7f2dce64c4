"""Hooks for the reliability tests: faults injected into a training run.

The training subprocesses import this module through ``custom_imports``.
"""
import json
import os
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


def _unwrapped(model):
    """The model inside a DDP wrapper, or the model itself."""
    return model.module if is_model_wrapper(model) else model


class KillWhenPickled:
    """Kills its process with SIGKILL when ``torch.save`` pickles it."""

    def __reduce__(self):
        os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class KillAtIteration(Hook):
    """Kills the process at an iteration, as an out-of-memory killer would.

    Args:
        iteration (int): The iteration (1-based, as logged).
        during_save (bool): Kill while that iteration's checkpoint is being
            written instead of after the iteration. Defaults to False.
        rank (int): The process to kill. Defaults to 0.
    """

    def __init__(self, iteration: int, during_save: bool = False,
                 rank: int = 0) -> None:
        self.iteration = iteration
        self.during_save = during_save
        self.rank = rank

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        """Kills the process after the iteration unless ``during_save``."""
        if (not self.during_save and runner.iter + 1 == self.iteration
                and get_rank() == self.rank):
            os.kill(os.getpid(), signal.SIGKILL)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Adds an object to the checkpoint that kills while it is saved."""
        if (self.during_save
                and checkpoint['meta']['iter'] == self.iteration):
            checkpoint['kill_while_saving'] = KillWhenPickled()


@HOOKS.register_module()
class NonFiniteDistillLoss(Hook):
    """Makes ``loss_distill`` NaN from an iteration on.

    Args:
        iteration (int): The first bad iteration (1-based).
    """

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        """Sets the distillation loss weight to NaN."""
        if runner.iter + 1 == self.iteration:
            _unwrapped(runner.model).distill_loss.loss_weight = float('nan')


@HOOKS.register_module()
class SaveQueueOfRank(Hook):
    """Writes each process's queue to ``work_dir/queue_rank{rank}.pth``."""

    def after_train(self, runner) -> None:
        """Saves the queue and its pointer after the last iteration."""
        model = _unwrapped(runner.model)
        torch.save(
            model.queue.state_dict(),
            os.path.join(runner.work_dir, f'queue_rank{get_rank()}.pth'))


@HOOKS.register_module()
class RecordSampleIndices(Hook):
    """Appends each iteration's sample indices to a file per process.

    ``work_dir/samples_rank{rank}.jsonl`` gets one line per iteration:
    ``{"iter": 1-based iteration, "epoch": 1-based epoch, "samples": [...]}``.
    """

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        """Writes the ``sample_idx`` of every sample of the batch."""
        samples = [
            int(sample.sample_idx) for sample in data_batch['data_samples']
        ]
        path = os.path.join(runner.work_dir, f'samples_rank{get_rank()}.jsonl')
        with open(path, 'a') as file:
            file.write(
                json.dumps(
                    dict(
                        iter=runner.iter + 1,
                        epoch=runner.epoch + 1,
                        samples=samples)) + '\n')


@HOOKS.register_module()
class SigtermAtIteration(Hook):
    """Sends SIGTERM as an iteration starts, as a preempting scheduler would.

    Args:
        iteration (int): The iteration (1-based, as logged).
        to_launcher (bool): Send it to the parent process (torchrun, which
            forwards it to every process) instead of this process. Defaults
            to False.
        signal_name (str): The signal to send instead, e.g. ``'SIGUSR1'``
            (Slurm's warning before the time limit). Defaults to
            ``'SIGTERM'``.
    """

    def __init__(self, iteration: int, to_launcher: bool = False,
                 signal_name: str = 'SIGTERM') -> None:
        self.iteration = iteration
        self.to_launcher = to_launcher
        self.signum = signal.Signals[signal_name]

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        """Sends the signal from process 0 before the iteration's step."""
        if runner.iter + 1 == self.iteration and get_rank() == 0:
            os.kill(os.getppid() if self.to_launcher else os.getpid(),
                    self.signum)


class FailsWhenPickled:
    """Stands for a save that dies part-way: pickling it raises."""

    def __reduce__(self):
        raise OSError('disk full')


@HOOKS.register_module()
class FailSaveAtIteration(Hook):
    """Makes the save of an iteration's checkpoint fail part-way.

    Args:
        iteration (int): The iteration (1-based) whose save fails.
    """

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Adds an object to the checkpoint that raises while it is saved."""
        if checkpoint['meta']['iter'] == self.iteration:
            checkpoint['fails_while_saving'] = FailsWhenPickled()
