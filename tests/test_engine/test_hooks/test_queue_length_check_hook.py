"""QueueLengthCheckHook: the global batch must fit the data and the queue."""
from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import DataLoader

from disco_mm.engine.hooks import QueueLengthCheckHook


def loader_of(images, batch_size):
    """A one-process loader over ``images`` items that drops partial batches."""
    return DataLoader(
        list(range(images)), batch_size=batch_size, drop_last=True)


def runner_with(queue_len, batch_size):
    """A stand-in for a one-process Runner with a queue and a loader."""
    model = SimpleNamespace(queue=torch.zeros(queue_len, 4))
    return SimpleNamespace(
        model=model, train_dataloader=loader_of(64, batch_size), iter=0)


def test_multiple_of_global_batch_passes():
    QueueLengthCheckHook().before_train(runner_with(24, 8))


def test_other_length_names_both_fields():
    with pytest.raises(
            ValueError,
            match=r'model.queue_len \(20\).*train_dataloader.batch_size '
            r'\(8\) x 1 processes = 8'):
        QueueLengthCheckHook().before_train(runner_with(20, 8))


def test_model_without_queue_is_left_alone():
    runner = SimpleNamespace(
        model=SimpleNamespace(), train_dataloader=loader_of(64, 3), iter=0)
    QueueLengthCheckHook().before_train(runner)



def test_batch_larger_than_data_set_names_all_three():
    runner = SimpleNamespace(
        model=SimpleNamespace(), train_dataloader=loader_of(24, 32), iter=0)
    with pytest.raises(ValueError) as error:
        QueueLengthCheckHook().before_train(runner)
    assert str(error.value).startswith(
        'train_dataloader.batch_size (32) is larger than the 24 images each '
        'of the 1 processes gets from the data set of 24 images')
    assert 'at most 24' in str(error.value)


def test_empty_data_set_is_named():
    runner = SimpleNamespace(
        model=SimpleNamespace(), train_dataloader=loader_of(0, 8), iter=0)
    with pytest.raises(ValueError, match=r'^The training data set '
                       r'\(train_dataloader.dataset\) is empty'):
        QueueLengthCheckHook().before_train(runner)


def resumed_with_queue(saved_len, queue_len):
    """Loads a checkpoint with a queue of ``saved_len`` into a resume."""
    model = torch.nn.Module()
    model.register_buffer('queue', torch.zeros(queue_len, 4))
    model.register_buffer('queue_ptr', torch.zeros(1))
    hook = QueueLengthCheckHook()
    hook.after_load_checkpoint(
        None,
        dict(state_dict=dict(
            queue=torch.zeros(saved_len, 4), queue_ptr=torch.zeros(1))))
    runner = SimpleNamespace(
        model=model, train_dataloader=loader_of(32, 8), iter=4)
    return hook, runner


def test_resume_with_another_queue_length_names_both():
    hook, runner = resumed_with_queue(48, 24)
    with pytest.raises(
            ValueError,
            match=r'model.queue_len is 24, but the checkpoint being resumed '
            r'holds a queue \(queue\) of 48 keys'):
        hook.before_train(runner)


def test_resume_with_same_queue_length_and_new_run_pass():
    hook, runner = resumed_with_queue(24, 24)
    hook.before_train(runner)
    # load_from starts a new run (iteration 0): a new queue is wanted
    hook, runner = resumed_with_queue(48, 24)
    runner.iter = 0
    hook.before_train(runner)
