"""QueueLengthCheckHook: the global batch must fit the data and the queue."""
from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import DataLoader

from disco_mm.engine.hooks import QueueLengthCheckHook
from disco_mm.models.utils import EmbeddingQueue


def loader_of(images, batch_size):
    """A one-process loader over ``images`` items that drops partial batches."""
    return DataLoader(
        list(range(images)), batch_size=batch_size, drop_last=True)


def model_with(**queue_lengths):
    """A model with an EmbeddingQueue of 4-d embeddings per keyword."""
    model = torch.nn.Module()
    for name, length in queue_lengths.items():
        setattr(model, name, EmbeddingQueue(length, 4))
    return model


def runner_with(queue_len, batch_size):
    """A stand-in for a one-process Runner with a queue and a loader."""
    model = model_with(queue=queue_len)
    return SimpleNamespace(
        model=model, train_dataloader=loader_of(64, batch_size), iter=0)


def test_multiple_of_global_batch_passes():
    QueueLengthCheckHook().before_train(runner_with(24, 8))


def test_other_length_names_both_fields():
    with pytest.raises(
            ValueError,
            match=r'model.queue.length \(20\).*train_dataloader.batch_size '
            r'\(8\) x 1 processes = 8'):
        QueueLengthCheckHook().before_train(runner_with(20, 8))


def test_every_queue_is_checked_by_its_name():
    runner = runner_with(24, 8)
    runner.model = model_with(teacher_bank=24, student_bank=20)
    with pytest.raises(ValueError, match=r'model.student_bank.length \(20\)'):
        QueueLengthCheckHook().before_train(runner)


def test_model_without_queue_is_left_alone():
    runner = SimpleNamespace(
        model=torch.nn.Module(), train_dataloader=loader_of(64, 3), iter=0)
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


def resumed_with_queue(saved_len, queue_len, old_layout=False):
    """Loads a checkpoint with a queue of ``saved_len`` into a resume.

    ``old_layout`` writes the queue as checkpoints did before queues were
    modules: the buffers ``queue`` and ``queue_ptr``.
    """
    names = (('queue', 'queue_ptr') if old_layout else
             ('queue.embeddings', 'queue.pointer'))
    hook = QueueLengthCheckHook()
    hook.after_load_checkpoint(
        None,
        dict(state_dict={
            names[0]: torch.zeros(saved_len, 4),
            names[1]: torch.zeros(1)
        }))
    runner = SimpleNamespace(
        model=model_with(queue=queue_len),
        train_dataloader=loader_of(32, 8),
        iter=4)
    return hook, runner


@pytest.mark.parametrize('old_layout', [False, True])
def test_resume_with_another_queue_length_names_both(old_layout):
    hook, runner = resumed_with_queue(48, 24, old_layout)
    with pytest.raises(
            ValueError,
            match=r'model.queue.length is 24, but the checkpoint being '
            r'resumed holds a queue \(queue\) of 48 keys'):
        hook.before_train(runner)


def test_resume_with_same_queue_length_and_new_run_pass():
    hook, runner = resumed_with_queue(24, 24)
    hook.before_train(runner)
    # load_from starts a new run (iteration 0): a new queue is wanted
    hook, runner = resumed_with_queue(48, 24)
    runner.iter = 0
    hook.before_train(runner)
