"""Saving and stopping on SIGTERM; under Slurm, on SIGUSR1 with a requeue."""
import logging
import os
import signal
import subprocess
import threading
from typing import Dict, List, Optional

import torch
from mmengine.dist import (all_gather_object, all_reduce, barrier,
                           get_world_size, is_main_process)
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmpretrain.registry import HOOKS

from .exact_resume_hook import random_states
from .safe_checkpoint_hook import SafeCheckpointHook

#: The exit status of a preempted run: 128 + SIGTERM, as if it were killed.
PREEMPTED_EXIT_STATUS = 128 + signal.SIGTERM
#: The exit status of a run that requeued its Slurm job: 128 + SIGUSR1.
REQUEUED_EXIT_STATUS = 128 + signal.SIGUSR1
#: The environment variable that tells a process it runs in a Slurm job.
SLURM_JOB_ID = 'SLURM_JOB_ID'
#: The signals handled, in the order of precedence when processes received
#: different ones: SIGTERM (stop) over SIGUSR1 (stop and requeue).
HANDLED_SIGNALS = (signal.SIGUSR1, signal.SIGTERM)


class Preempted(SystemExit):
    """The run stopped at a SIGTERM or SIGUSR1 after saving its state."""


@HOOKS.register_module()
class PreemptionHook(Hook):
    """Turns SIGTERM into: finish the iteration, save, exit non-zero; and
    under Slurm SIGUSR1 into the same plus ``scontrol requeue``.

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

    In a Slurm job (``SLURM_JOB_ID`` set), SIGUSR1 - which Slurm sends
    before the time limit when the job asks with ``--signal=USR1@SECONDS``
    - is handled the same way, then the main process runs ``scontrol
    requeue $SLURM_JOB_ID`` and the run exits with status 138 (128 +
    SIGUSR1): the job goes back to the queue and its next start continues
    with ``--resume``. Outside Slurm SIGUSR1 keeps its own handler.

    The handlers are installed when training starts; data loader workers
    forked after it inherit them, so a signal sent to the whole process
    group does not kill them before the save.
    """

    #: After the CheckpointHook (VERY_LOW): a regular save comes first.
    priority = 'LOWEST'

    def __init__(self) -> None:
        self._received: Optional[signal.Signals] = None
        self._previous_handlers: Dict[signal.Signals, object] = {}
        self._states_of_ranks: Optional[List[dict]] = None

    def _record(self, signum, frame) -> None:
        """The signal handler: only notes the signal."""
        received = signal.Signals(signum)
        if (self._received is None or HANDLED_SIGNALS.index(received) >
                HANDLED_SIGNALS.index(self._received)):
            self._received = received

    def before_train(self, runner) -> None:
        """Installs the handlers (in the main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            runner.logger.warning(
                'Training runs outside the main thread: SIGTERM is not '
                'handled and a preempted run stops without a checkpoint.')
            return
        signals = [signal.SIGTERM]
        if os.environ.get(SLURM_JOB_ID):
            signals.append(signal.SIGUSR1)
        for signum in signals:
            self._previous_handlers[signum] = signal.signal(
                signum, self._record)

    def after_train(self, runner) -> None:
        """Gives the signals their previous handlers back."""
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        self._previous_handlers = {}

    def _stop_signal(self) -> Optional[signal.Signals]:
        """The signal any process received (SIGTERM first), or None."""
        if get_world_size() == 1:
            return self._received
        code = torch.tensor(
            0. if self._received is None else
            1. + HANDLED_SIGNALS.index(self._received))
        all_reduce(code, op='max')
        code = int(code.item())
        return HANDLED_SIGNALS[code - 1] if code else None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        """Saves and exits after the iteration in which a signal came.

        Raises:
            Preempted: With status 143 (SIGTERM) or 138 (SIGUSR1, the job
                requeued), once the checkpoint is complete.
        """
        received = self._stop_signal()
        if received is None:
            return
        checkpoint_hook = next(
            (hook for hook in runner.hooks
             if isinstance(hook, SafeCheckpointHook)), None)
        if checkpoint_hook is None:
            raise Preempted(
                f'{received.name} received, but the run has no '
                'SafeCheckpointHook (default_hooks.checkpoint) to save with; '
                'stopped without a checkpoint.')
        step = runner.iter + 1
        if checkpoint_hook.saved_iteration != step:
            if get_world_size() > 1:
                self._states_of_ranks = all_gather_object(random_states())
            checkpoint_hook.save_iteration_checkpoint(runner)
        barrier()
        print_log(
            f'{received.name} received: stopped after iteration {step}, '
            f'saved in {checkpoint_hook.last_ckpt}. Continue with --resume.',
            logger='current')
        self.after_train(runner)
        if received == signal.SIGTERM:
            raise Preempted(PREEMPTED_EXIT_STATUS)
        if is_main_process():
            requeue_slurm_job(os.environ[SLURM_JOB_ID])
        raise Preempted(REQUEUED_EXIT_STATUS)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Stores every process's random states in the preemption save.

        The ExactResumeHook collects them only at the iterations the
        CheckpointHook saves after; this save comes in between.
        """
        if self._states_of_ranks is not None:
            checkpoint['random_states'] = self._states_of_ranks
            self._states_of_ranks = None


def requeue_slurm_job(job_id: str) -> bool:
    """Runs ``scontrol requeue JOB_ID`` and logs what it did.

    Args:
        job_id (str): The job's ``SLURM_JOB_ID``.

    Returns:
        bool: Whether scontrol requeued the job.
    """
    command = ['scontrol', 'requeue', job_id]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        problem = str(error)
    else:
        if result.returncode == 0:
            print_log(
                f'Requeued Slurm job {job_id} ({" ".join(command)}).',
                logger='current')
            return True
        problem = (f'exit status {result.returncode}: '
                   f'{(result.stderr or result.stdout).strip()}')
    print_log(
        f'{" ".join(command)} failed ({problem}): the job is not requeued; '
        'submit it again with --resume.',
        logger='current',
        level=logging.WARNING)
    return False
