"""Saving a checkpoint and stopping when the job is preempted (SIGTERM)."""
import signal
import threading
from typing import List, Optional

import torch
from mmengine.dist import (all_gather_object, all_reduce, barrier,
                           get_world_size)
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS

from .exact_resume_hook import random_states
from .safe_checkpoint_hook import SafeCheckpointHook

#: The exit status of a preempted run: 128 + SIGTERM, as if it were killed.
PREEMPTED_EXIT_STATUS = 128 + signal.SIGTERM


class Preempted(SystemExit):
    """The run stopped at a SIGTERM after saving its state."""


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Turns SIGTERM into: finish the iteration, save, exit non-zero.

    Slurm (at its time limit or on preemption), Kubernetes and cloud spot
    instances send SIGTERM and kill the job a grace period later. While
    training, this hook only records the signal. After the iteration in
    progress it saves that iteration's checkpoint through the
    :class:`SafeCheckpointHook` (``iter_N.pth``, unless the checkpoint hook
    has just saved it) and exits with status 143 (128 + SIGTERM), so a
    scheduler sees the job as unfinished and ``--resume`` continues it
    exactly. In a distributed run every process learns of a signal that
    any process received (one scalar all-reduce per iteration), so all
    stop after the same iteration; torchrun forwards its SIGTERM to the
    processes and waits ``TORCH_ELASTIC_SHUTDOWN_TIMEOUT`` seconds for them.

    The handler is installed when training starts; data loader workers
    forked after it inherit it, so a SIGTERM sent to the whole process
    group does not kill them before the save.
    """

    #: After the CheckpointHook (VERY_LOW): a regular save comes first.
    priority = 'LOWEST'

    def __init__(self) -> None:
        self._signalled = False
        self._previous_handler = None
        self._states_of_ranks: Optional[List[dict]] = None

    def _record(self, signum, frame) -> None:
        """The SIGTERM handler: only notes the signal."""
        self._signalled = True

    def before_train(self, runner) -> None:
        """Installs the SIGTERM handler (in the main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning(
                'Training runs outside the main thread: SIGTERM is not '
                'handled and a preempted run stops without a checkpoint.')
            return
        self._previous_handler = signal.signal(signal.SIGTERM, self._record)

    def after_train(self, runner) -> None:
        """Gives SIGTERM its previous handler back."""
        if self._previous_handler is not None:
            signal.signal(signal.SIGTERM, self._previous_handler)
            self._previous_handler = None

    def _stop_requested(self) -> bool:
        """Tells every process whether any process received SIGTERM."""
        if get_world_size() == 1:
            return self._signalled
        signalled = torch.tensor(float(self._signalled))
        all_reduce(signalled, op='max')
        return bool(signalled.item())

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        """Saves and exits after the iteration in which SIGTERM came.

        Raises:
            Preempted: With status 143, once the checkpoint is complete.
        """
        if not self._stop_requested():
            return
        checkpoint_hook = next(
            (hook for hook in runner.hooks
             if isinstance(hook, SafeCheckpointHook)), None)
        if checkpoint_hook is None:
            raise Preempted(
                'SIGTERM received, but the run has no SafeCheckpointHook '
                '(default_hooks.checkpoint) to save with; stopped without a '
                'checkpoint.')
        step = runner.iter + 1
        if checkpoint_hook.saved_iteration != step:
            if get_world_size() > 1:
                self._states_of_ranks = all_gather_object(random_states())
            checkpoint_hook.save_iteration_checkpoint(runner)
        barrier()
        print_log(
            f'SIGTERM received: stopped after iteration {step}, saved in '
            f'{checkpoint_hook.last_ckpt}. Continue with --resume.',
            logger='current')
        self.after_train(runner)
        raise Preempted(PREEMPTED_EXIT_STATUS)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Stores every process's random states in the preemption save.

        The ExactResumeHook collects them only at the iterations the
        CheckpointHook saves after; this save comes in between.
        """
        if self._states_of_ranks is not None:
            checkpoint['random_states'] = self._states_of_ranks
            self._states_of_ranks = None
