"""FiniteLossHook: names the iteration and the non-finite term."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub

from disco_mm.engine.hooks import FiniteLossHook, NonFiniteLossError


@pytest.fixture
def runner():
    """A stand-in for the Runner at iteration 7 (0-based 6)."""
    hub = MessageHub.get_instance('finite_loss_hook_test')
    hub.update_info('last_ckpt', 'work_dir/iter_6.pth')
    return SimpleNamespace(iter=6, message_hub=hub)


def test_finite_losses_pass(runner):
    outputs = dict(loss=torch.tensor(2.0), loss_distill=torch.tensor(1.0))
    FiniteLossHook().after_train_iter(runner, 0, outputs=outputs)


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_names_iteration_term_and_checkpoint(runner, value):
    outputs = dict(
        loss=torch.tensor(value),
        loss_contrastive=torch.tensor(1.0),
        loss_distill=torch.tensor(value))
    with pytest.raises(NonFiniteLossError) as error:
        FiniteLossHook().after_train_iter(runner, 0, outputs=outputs)
    message = str(error.value)
    assert message.startswith(
        f'Iteration 7: non-finite loss (loss_distill={value})')
    assert ('The last good checkpoint is work_dir/iter_6.pth: resume it with '
            'a lower learning rate, --resume work_dir/iter_6.pth '
            '--cfg-options optim_wrapper.optimizer.lr=LR') in message


def test_run_without_checkpoint_is_told_to_start_again():
    runner = SimpleNamespace(
        iter=0, message_hub=MessageHub.get_instance('no_checkpoint_yet'))
    outputs = dict(loss=torch.tensor(float('nan')))
    with pytest.raises(NonFiniteLossError,
                       match='No checkpoint was saved before: start again'):
        FiniteLossHook().after_train_iter(runner, 0, outputs=outputs)


def test_total_alone_is_named_when_only_it_overflows(runner):
    outputs = dict(loss=torch.tensor(float('inf')), loss_a=torch.tensor(1.))
    with pytest.raises(NonFiniteLossError, match=r'\(loss=inf\)'):
        FiniteLossHook().after_train_iter(runner, 0, outputs=outputs)
