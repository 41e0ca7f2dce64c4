"""Saving only finite checkpoints, removing old ones only after a save."""
from typing import List

import torch
from mmengine.dist import (all_gather_object, all_reduce, get_world_size,
                           is_main_process)
from mmengine.hooks import CheckpointHook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from ...checkpoints.atomic import is_local, remove_checkpoint
from ...checkpoints.resume import write_pointer
from ...messages import listed
from .finite_loss_hook import resume_advice


class NonFiniteStateError(FloatingPointError):
    """A parameter, buffer or optimizer state is NaN or infinite."""


def non_finite_tensors(runner) -> List[str]:
    """Names the NaN or infinite tensors a checkpoint would hold.

    These are the model's parameters and buffers (its ``state_dict``: the
    student, the key encoder, the queue; not a frozen teacher) and the
    optimizer's state (momentum buffers).

    Args:
        runner (Runner): The runner.

    Returns:
        list[str]: ``state_dict`` keys and ``optimizer.<group index>.<key>``
        entries.
    """
    model = runner.model.module if is_model_wrapper(
        runner.model) else runner.model
    names = [
        name for name, value in model.state_dict().items()
        if value.is_floating_point() and not torch.isfinite(value).all()
    ]
    for index, state in runner.optim_wrapper.state_dict().get('state',
                                                              {}).items():
        names += [
            f'optimizer.{index}.{key}' for key, value in state.items()
            if torch.is_tensor(value) and value.is_floating_point()
            and not torch.isfinite(value).all()
        ]
    return names


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """mmengine's CheckpointHook that never saves or loses a good state.

    Arguments as mmengine's ``CheckpointHook``. It differs in three ways:

    * Before each save, every parameter, buffer and optimizer state is
      checked; a NaN or infinite one stops the run with
      :class:`NonFiniteStateError` instead of being saved (a learning rate
      too high can overflow the BatchNorm statistics while the loss is
      still finite). All processes of a distributed run stop together.
    * With ``max_keep_ckpts``, the oldest checkpoint is removed only after
      the new one is complete (mmengine removes it first, so a kill while
      saving could leave none), together with its checksum file.
    * ``last_checkpoint`` names the checkpoint relative to the work dir,
      and the run's last checkpoint (``last_ckpt`` of the message hub) is
      updated once the file is complete.

    :meth:`save_iteration_checkpoint` saves the current iteration outside
    the interval (used by :class:`PreemptionHook`).
    """

    #: How many iterations the last checkpoint saved holds, or None.
    saved_iteration = None

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        """Checks, saves, points ``last_checkpoint`` to it, then prunes."""
        self._save(runner, self.filename_tmpl.format(step), meta,
                   self.by_epoch, step)

    def save_iteration_checkpoint(self, runner) -> None:
        """Saves the state after the current iteration as ``iter_N.pth``.

        With ``by_epoch=False`` it counts towards ``max_keep_ckpts`` like
        every other checkpoint; with epoch checkpoints it is kept.

        Args:
            runner (Runner): The runner, inside ``after_train_iter``.
        """
        step = runner.iter + 1
        self._save(runner, f'iter_{step}.pth',
                   dict(epoch=runner.epoch, iter=step), False,
                   None if self.by_epoch else step)

    def _save(self, runner, filename: str, meta: dict, by_epoch: bool,
              kept_step) -> None:
        """Saves one checkpoint.

        Args:
            runner (Runner): The runner.
            filename (str): The file name in ``out_dir``.
            meta (dict): Its ``epoch`` and ``iter``.
            by_epoch (bool): Whether ``meta`` counts epochs.
            kept_step (int, optional): The step ``max_keep_ckpts`` counts
                it as, or None when it is not counted.
        """
        self._stop_if_non_finite(runner, filename)
        outdated = None
        if (self.max_keep_ckpts > 0 and kept_step is not None
                and (not self.keep_ckpt_ids
                     or self.keep_ckpt_ids[-1] != kept_step)):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated = self.keep_ckpt_ids.popleft()
            self.keep_ckpt_ids.append(kept_step)
            runner.message_hub.update_info('keep_ckpt_ids',
                                           list(self.keep_ckpt_ids))
        runner.save_checkpoint(
            self.out_dir,
            filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=by_epoch,
            backend_args=self.backend_args,
            **self.args)
        self.saved_iteration = meta.get('iter')
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        if not is_main_process():
            return
        write_pointer(runner.work_dir, self.last_ckpt)
        if outdated is not None:
            self._remove(self.filename_tmpl.format(outdated))

    def _remove(self, filename: str) -> None:
        """Removes an outdated checkpoint (a file, or a folder of shards)."""
        path = self.file_backend.join_path(self.out_dir, filename)
        if is_local(path):
            remove_checkpoint(path)
        elif self.file_backend.isfile(path):
            self.file_backend.remove(path)
        elif self.file_backend.isdir(path):
            self.file_backend.rmtree(path)

    def _stop_if_non_finite(self, runner, filename: str) -> None:
        """Raises on every process when any process's state is not finite.

        Raises:
            NonFiniteStateError: Names the iteration, the tensors and the
                last good checkpoint.
        """
        names = non_finite_tensors(runner)
        if get_world_size() > 1:
            diverged = torch.tensor(float(bool(names)))
            all_reduce(diverged, op='max')
            if not diverged.item():
                return
            names = sorted(set().union(*all_gather_object(names)))
        if not names:
            return
        raise NonFiniteStateError(
            f'Iteration {runner.iter + 1}: {len(names)} tensors of the '
            f'model or optimizer are NaN or infinite, so {filename} was not '
            'saved:' + listed(names) + '\n' + resume_advice(runner))
