"""Resuming a killed run so that it continues exactly where it stopped."""
import random
from typing import Iterator, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import HOOKS
from torch.utils.data import Sampler


def random_states() -> dict:
    """Returns the states of every random generator training draws from."""
    states = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_random_states(states: dict) -> None:
    """Restores the generators from :func:`random_states`."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


class SkipFirstSamples(Sampler):
    """A sampler that leaves out the first ``skip`` indices of another.

    Args:
        sampler (Sampler): The epoch's sampler.
        skip (int): How many of its indices were already trained on.
    """

    def __init__(self, sampler: Sampler, skip: int) -> None:
        self.sampler = sampler
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        for position, index in enumerate(self.sampler):
            if position >= self.skip:
                yield index

    def __len__(self) -> int:
        return max(len(self.sampler) - self.skip, 0)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Makes a resumed run continue as if it had never been stopped.

    mmengine restores weights, optimizer, schedulers and counters, but not
    what else decides the next iterations. This hook adds them:

    * the random states of Python, numpy and torch (and CUDA) of every
      process, saved in each checkpoint and restored on resume; they drive
      the augmentations and the shuffle of shuffle-BN;
    * the position inside the epoch: after a checkpoint saved mid-epoch
      (``CheckpointHook(by_epoch=False)``), the batches of that epoch that
      were already trained on are skipped by index, without loading them;
    * the seed of the data order, when the config sets none;
    * the data loader's own seed: each epoch's loader iterator draws its
      base seed from a generator seeded by the run's seed and the epoch
      instead of from torch's global generator.

    Exact for the ``EpochBasedTrainLoop`` of every disco_mm config with
    ``num_workers=0``; with worker processes, the workers of the resumed
    epoch restart from their seeds, so that epoch's augmentations differ
    from the uninterrupted run's (the data order does not). mmengine's
    ``IterBasedTrainLoop`` loads the skipped batches itself, drawing random
    numbers after they were restored.

    In a distributed run the random states of all processes are collected
    only at iterations after which the CheckpointHook saves (process 0
    writes the checkpoint alone): the training step has no extra collective.
    """

    #: Before CheckpointHook (VERY_LOW), after the optimizer step.
    priority = 'LOW'

    def __init__(self) -> None:
        self._states_of_ranks: Optional[List[dict]] = None
        self._resumed_states: Optional[List[dict]] = None
        self._unskipped_sampler: Optional[Sampler] = None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        """Collects every process's random state before a distributed save."""
        if get_world_size() > 1 and self._checkpoint_follows(
                runner, batch_idx):
            self._states_of_ranks = all_gather_object(random_states())

    def _checkpoint_follows(self, runner, batch_idx: int) -> bool:
        """Tells whether the CheckpointHook saves after this iteration.

        Mirrors CheckpointHook's rule; for epoch checkpoints every epoch's
        last iteration counts (one collective per epoch).
        """
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook):
                continue
            if hook.by_epoch:
                return self.end_of_epoch(runner.train_dataloader, batch_idx)
            return hook.every_n_train_iters(
                runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_iter(runner))
        return False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Stores the random states of all processes in the checkpoint."""
        if get_world_size() > 1:
            checkpoint['random_states'] = self._states_of_ranks
        else:
            checkpoint['random_states'] = [random_states()]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keeps the checkpoint's random states until training starts."""
        self._resumed_states = checkpoint.get('random_states')

    def before_train(self, runner) -> None:
        """Restores the seed of the data order and the random states.

        Without a configured seed, mmengine draws one, builds the sampler
        with it and only then resumes the checkpoint's seed; the sampler
        gets that seed too, so the resumed epochs keep their order.
        """
        sampler = runner.train_dataloader.sampler
        per_rank_seed = runner.cfg.get('randomness',
                                       {}).get('diff_rank_seed', False)
        if hasattr(sampler, 'seed') and not per_rank_seed:
            sampler.seed = runner.seed
        states, self._resumed_states = self._resumed_states, None
        if runner.iter == 0 or not states:
            return
        if len(states) != get_world_size():
            print_log(
                f'The checkpoint holds the random states of {len(states)} '
                f'processes, this run has {get_world_size()}: augmentations '
                'continue from fresh seeds.',
                logger='current')
            return
        set_random_states(states[get_rank()])

    def before_train_epoch(self, runner) -> None:
        """Seeds the loader and skips the batches trained before a resume."""
        dataloader = runner.train_dataloader
        dataloader.generator = torch.Generator().manual_seed(
            runner.seed * 1000 + runner.epoch)
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return
        done = runner.iter - runner.epoch * len(dataloader)
        if done > 0:
            batch_sampler = dataloader.batch_sampler
            self._unskipped_sampler = batch_sampler.sampler
            batch_sampler.sampler = SkipFirstSamples(
                batch_sampler.sampler, done * batch_sampler.batch_size)

    def after_train_epoch(self, runner) -> None:
        """Gives the loader back its full sampler after a resumed epoch."""
        if self._unskipped_sampler is not None:
            runner.train_dataloader.batch_sampler.sampler = (
                self._unskipped_sampler)
            self._unskipped_sampler = None
