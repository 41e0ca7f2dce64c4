"""QueueLengthCheckHook: the queue must take whole global batches."""
from types import SimpleNamespace

import pytest
import torch

from disco_mm.engine.hooks import QueueLengthCheckHook


def runner_with(queue_len, batch_size):
    """A stand-in for a one-process Runner with a queue and a loader."""
    model = SimpleNamespace(queue=torch.zeros(queue_len, 4))
    return SimpleNamespace(
        model=model, train_dataloader=SimpleNamespace(batch_size=batch_size))


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
        model=SimpleNamespace(),
        train_dataloader=SimpleNamespace(batch_size=3))
    QueueLengthCheckHook().before_train(runner)
