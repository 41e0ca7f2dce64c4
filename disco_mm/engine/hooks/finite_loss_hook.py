"""Stopping a run at the first non-finite loss, before it is saved."""
import math

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

#: The sum of the terms that mmengine adds to the logged losses.
TOTAL_LOSS = 'loss'


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite."""


def resume_advice(runner) -> str:
    """Tells how to continue a run that diverged.

    The last good checkpoint is the run's last complete save (or the
    checkpoint it resumed), which :class:`SafeCheckpointHook` checked to be
    finite.

    Args:
        runner (Runner): The runner.

    Returns:
        str: The checkpoint and the command that resumes it with a lower
        learning rate.
    """
    last_checkpoint = runner.message_hub.get_info('last_ckpt')
    if last_checkpoint is None:
        return ('No checkpoint was saved before: start again with a lower '
                'learning rate (--cfg-options optim_wrapper.optimizer.lr=LR) '
                'or check the data.')
    return (f'The last good checkpoint is {last_checkpoint}: resume it with '
            f'a lower learning rate, --resume {last_checkpoint} '
            '--cfg-options optim_wrapper.optimizer.lr=LR (on resume the '
            "config's learning rate replaces the checkpoint's), or check the "
            'data.')


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stops training when a loss term is NaN or infinite.

    The check runs after each iteration and before the CheckpointHook, so
    the diverged weights are never saved: the latest checkpoint stays the
    last good one and ``--resume`` continues from it. The error names the
    iteration, the non-finite terms, that checkpoint and the command that
    resumes it with a lower learning rate. A state that overflows while the
    loss is still finite (BatchNorm statistics) is caught by
    :class:`SafeCheckpointHook` before it is saved. In a distributed
    run every process stops, also those whose own losses were finite (their
    weights received the same gradients).
    """

    #: Before CheckpointHook (VERY_LOW) and ExactResumeHook (LOW).
    priority = 'BELOW_NORMAL'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        """Raises :class:`NonFiniteLossError` for a NaN or Inf loss term.

        Raises:
            NonFiniteLossError: Names the iteration (1-based, as logged),
                the terms and their values, and the checkpoint to resume.
        """
        losses = {
            name: float(torch.as_tensor(value).detach())
            for name, value in (outputs or {}).items() if 'loss' in name
        }
        bad_terms = {
            name: value
            for name, value in losses.items() if not math.isfinite(value)
        }
        if get_world_size() > 1 and self._any_rank_diverged(bad_terms):
            for terms_of_rank in all_gather_object(bad_terms):
                bad_terms.update(terms_of_rank)
        if not bad_terms:
            return
        # The total is non-finite because a term is; name the term.
        if len(bad_terms) > 1:
            bad_terms.pop(TOTAL_LOSS, None)
        terms = ', '.join(f'{name}={value}'
                          for name, value in bad_terms.items())
        raise NonFiniteLossError(
            f'Iteration {runner.iter + 1}: non-finite loss ({terms}); '
            'training stopped before this state was saved. ' +
            resume_advice(runner))

    @staticmethod
    def _any_rank_diverged(bad_terms: dict) -> bool:
        """Tells every process whether any process saw a non-finite term.

        One scalar all-reduce per iteration; the names of the terms are
        gathered only once a process has diverged.
        """
        diverged = torch.tensor(float(bool(bad_terms)))
        all_reduce(diverged, op='max')
        return bool(diverged.item())
