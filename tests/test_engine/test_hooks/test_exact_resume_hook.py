"""ExactResumeHook's pieces: random states, the data position on resume."""
import random

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from disco_mm.engine.hooks.exact_resume_hook import (ExactResumeHook,
                                                     random_states,
                                                     set_random_states)


def draws():
    """One number from each generator that training uses."""
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


def test_random_states_continue_where_saved():
    states = random_states()
    expected = draws()
    draws()
    set_random_states(states)
    assert draws() == expected


def test_saved_states_survive_a_weights_only_checkpoint(tmp_path):
    torch.save(dict(random_states=[random_states()]), tmp_path / 'c.pth')
    expected = draws()
    loaded = torch.load(tmp_path / 'c.pth', weights_only=True)
    set_random_states(loaded['random_states'][0])
    assert draws() == expected


def resumed_runner(iteration, epoch, batch_size, batches_per_epoch):
    """A one-process Runner stand-in, resumed at an iteration."""
    loader = type('Loader', (), dict(
        batch_size=batch_size, __len__=lambda self: batches_per_epoch))()
    return SimpleNamespace(iter=iteration, epoch=epoch, train_dataloader=loader)


def position(batch_size, processes, batches_per_epoch, epoch_samples):
    """A checkpoint's ``data_position``."""
    return dict(
        samples=0, epoch_samples=epoch_samples, batch_size=batch_size,
        processes=processes, batches_per_epoch=batches_per_epoch)


def test_same_global_batch_continues_at_saved_sample():
    runner = resumed_runner(16, 2, 16, 6)
    assert ExactResumeHook._check_position(
        runner, position(8, 2, 6, 64)) == 64


def test_other_batch_size_is_refused_with_both_batches():
    runner = resumed_runner(16, 2, 8, 12)
    with pytest.raises(ValueError) as error:
        ExactResumeHook._check_position(runner, position(16, 1, 6, 64))
    message = str(error.value)
    assert message.startswith(
        'Cannot resume: the checkpoint was saved with 1 processes x '
        'train_dataloader.batch_size 16 = 16 images per iteration, 6 '
        'iterations per epoch; this run has 1 processes x '
        'train_dataloader.batch_size 8 = 8 images per iteration, 12 '
        'iterations per epoch.')
    assert 'set train_dataloader.batch_size=16 for 1 processes' in message


def test_checkpoint_without_position_must_fit_the_epoch():
    # saved before positions were recorded: 16 iterations, epoch 3 of
    # 6 batches fits; 3 batches per epoch cannot have reached iteration 16
    assert ExactResumeHook._check_position(
        resumed_runner(16, 2, 16, 6), None) == 4 * 16
    with pytest.raises(ValueError, match='iteration 16 in epoch 3 does not '
                       'fit 3 batches per epoch'):
        ExactResumeHook._check_position(resumed_runner(16, 2, 16, 3), None)
