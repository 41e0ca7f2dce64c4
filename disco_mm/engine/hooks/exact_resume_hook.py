"""Resuming a killed run so that it continues exactly where it stopped."""
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log
from mmengine.runner import EpochBasedTrainLoop
from mmpretrain.registry import HOOKS
from torch.utils.data import Sampler

from ...datasets.sample_seeding import EpochSampleKeys, seed_dataset_per_sample


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


def data_position(runner, meta: dict, batches_per_epoch: int) -> dict:
    """Where a checkpoint stands in the data, in samples.

    Args:
        runner (Runner): The training runner.
        meta (dict): The checkpoint's ``meta`` (``epoch``, ``iter``).
        batches_per_epoch (int): The loader's length in a whole epoch.

    Returns:
        dict: ``samples`` (trained in all, over all processes),
        ``epoch_samples`` (of them, in the epoch being trained),
        ``batch_size`` (per process), ``processes`` and
        ``batches_per_epoch``.
    """
    batch_size = runner.train_dataloader.batch_size
    global_batch = batch_size * get_world_size()
    batches_in_epoch = meta['iter'] - meta['epoch'] * batches_per_epoch
    return dict(
        samples=meta['iter'] * global_batch,
        epoch_samples=batches_in_epoch * global_batch,
        batch_size=batch_size,
        processes=get_world_size(),
        batches_per_epoch=batches_per_epoch)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Makes a resumed run continue as if it had never been stopped.

    mmengine restores weights, optimizer, schedulers and counters, but not
    what else decides the next iterations. This hook adds them:

    * augmentations that depend only on the run's seed, the epoch and the
      sample's index (:mod:`disco_mm.datasets.sample_seeding`), not on the
      number of data loader workers, their persistence or a resume;
    * the random states of Python, numpy and torch (and CUDA) of every
      process, saved in each checkpoint and restored on resume; they drive
      the model's draws (the shuffle of shuffle-BN);
    * the position inside the epoch, saved in samples: after a checkpoint
      saved mid-epoch (``CheckpointHook(by_epoch=False)``), the samples of
      that epoch that were already trained on are skipped by index,
      without loading them;
    * the seed of the data order, when the config sets none;
    * the data loader's own seed: each epoch's loader iterator draws its
      base seed from a generator seeded by the run's seed and the epoch
      instead of from torch's global generator.

    A resume must keep the global batch (``batch_size`` x processes) and
    the number of batches per epoch: the iteration counter, the learning
    rate schedule and the queue pointer count iterations of that batch.
    Another number of processes with the same global batch continues with
    the same samples in each iteration; anything else is refused before
    the first iteration.

    Exact for the ``EpochBasedTrainLoop`` of every disco_mm config, with or
    without worker processes. mmengine's ``IterBasedTrainLoop`` loads the
    skipped batches itself, drawing random numbers after they were
    restored, and gets no per-sample seeds.

    In a distributed run the random states of all processes are collected
    only at iterations after which the CheckpointHook saves (process 0
    writes the checkpoint alone): the training step has no extra collective.
    """

    #: Before CheckpointHook (VERY_LOW), after the optimizer step.
    priority = 'LOW'

    def __init__(self) -> None:
        self._states_of_ranks: Optional[List[dict]] = None
        self._resumed: Optional[dict] = None
        self._samples_to_skip = 0
        self._epoch_sampler: Optional[Sampler] = None
        self._batches_per_epoch = 0

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
        """Stores the random states and the data position."""
        if get_world_size() > 1:
            checkpoint['random_states'] = self._states_of_ranks
        else:
            checkpoint['random_states'] = [random_states()]
        checkpoint['data_position'] = data_position(
            runner, checkpoint['meta'], self._batches_per_epoch)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keeps the checkpoint's states and position until training."""
        self._resumed = dict(
            states=checkpoint.get('random_states'),
            position=checkpoint.get('data_position'))

    def before_train(self, runner) -> None:
        """Seeds samples, restores the data order, position and states.

        Without a configured seed, mmengine draws one, builds the sampler
        with it and only then resumes the checkpoint's seed; the sampler
        gets that seed too, so the resumed epochs keep their order.

        Raises:
            ValueError: The checkpoint was saved with another global batch
                or another number of batches per epoch.
        """
        self._batches_per_epoch = len(runner.train_dataloader)
        sampler = runner.train_dataloader.sampler
        per_rank_seed = runner.cfg.get('randomness',
                                       {}).get('diff_rank_seed', False)
        if hasattr(sampler, 'seed') and not per_rank_seed:
            sampler.seed = runner.seed
        resumed, self._resumed = self._resumed, None
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            self._seed_samples(runner)
        if runner.iter == 0 or not resumed:
            return
        self._samples_to_skip = self._check_position(
            runner, resumed['position']) // get_world_size()
        states = resumed['states']
        if not states:
            return
        if len(states) != get_world_size():
            print_log(
                f'The checkpoint holds the random states of {len(states)} '
                f'processes, this run has {get_world_size()}: the model\'s '
                'random draws (shuffle-BN) continue from fresh seeds.',
                logger='current')
            return
        set_random_states(states[get_rank()])

    @staticmethod
    def _seed_samples(runner) -> None:
        """Seeds each sample's pipeline by run seed, epoch and index."""
        if not seed_dataset_per_sample(runner.train_dataloader.dataset,
                                       runner.seed):
            print_log(
                f'{type(runner.train_dataloader.dataset).__name__} passes '
                'no sample index to its pipeline: augmentations are drawn '
                'from the loader workers\' streams, and a resumed run with '
                'num_workers > 0 draws others.',
                logger='current')

    @staticmethod
    def _check_position(runner, position: Optional[dict]) -> int:
        """Checks that the checkpoint's position fits this run's batches.

        Args:
            runner (Runner): The resumed runner.
            position (dict, optional): The checkpoint's
                :func:`data_position`; None for a checkpoint saved before
                it was recorded.

        Returns:
            int: The samples of the current epoch already trained on, over
            all processes.

        Raises:
            ValueError: The global batch or the batches per epoch differ.
        """
        loader = runner.train_dataloader
        processes = get_world_size()
        batches_done = runner.iter - runner.epoch * len(loader)
        if position is None:
            if 0 <= batches_done <= len(loader):
                return batches_done * loader.batch_size * processes
            saved = ('another global batch or number of processes (iteration '
                     f'{runner.iter} in epoch {runner.epoch + 1} does not fit '
                     f'{len(loader)} batches per epoch)')
        elif (position['batch_size'] * position['processes'] ==
              loader.batch_size * processes
              and position['batches_per_epoch'] == len(loader)):
            return position['epoch_samples']
        else:
            saved = (f'{position["processes"]} processes x '
                     f'train_dataloader.batch_size {position["batch_size"]} '
                     f'= {position["batch_size"] * position["processes"]} '
                     f'images per iteration, {position["batches_per_epoch"]} '
                     'iterations per epoch')
        global_batch = (position['batch_size'] * position['processes']
                        if position else None)
        if global_batch == loader.batch_size * processes:
            fix = ('train on the data set and with the number of processes '
                   'of the saved run, or ')
        elif global_batch and global_batch % processes == 0:
            fix = (f'set train_dataloader.batch_size='
                   f'{global_batch // processes} for {processes} processes, '
                   'or ')
        else:
            fix = ''
        raise ValueError(
            f'Cannot resume: the checkpoint was saved with {saved}; this run '
            f'has {processes} processes x train_dataloader.batch_size '
            f'{loader.batch_size} = {loader.batch_size * processes} images '
            f'per iteration, {len(loader)} iterations per epoch. The '
            'iteration counter, the learning-rate schedule and the queue '
            'pointer of the checkpoint count iterations of its global batch, '
            f'which a resumed run must keep: {fix}start a new run from its '
            'weights with load_from=CHECKPOINT instead of --resume.')

    def before_train_epoch(self, runner) -> None:
        """Seeds the loader and tags indices with the epoch.

        In the epoch of a resume, the samples trained before are left out.
        """
        loader = runner.train_dataloader
        loader.generator = torch.Generator().manual_seed(
            runner.seed * 1000 + runner.epoch)
        if not isinstance(runner.train_loop, EpochBasedTrainLoop):
            return
        batch_sampler = loader.batch_sampler
        self._epoch_sampler = batch_sampler.sampler
        batch_sampler.sampler = EpochSampleKeys(
            batch_sampler.sampler, runner.epoch, self._samples_to_skip)
        self._samples_to_skip = 0

    def after_train_epoch(self, runner) -> None:
        """Gives the loader back its own sampler."""
        if self._epoch_sampler is not None:
            runner.train_dataloader.batch_sampler.sampler = (
                self._epoch_sampler)
            self._epoch_sampler = None
