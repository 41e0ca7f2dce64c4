"""SafeCheckpointHook: finds every non-finite tensor a save would hold."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper
from torch import nn

from disco_mm.engine.hooks import NonFiniteStateError, SafeCheckpointHook
from disco_mm.engine.hooks.safe_checkpoint_hook import non_finite_tensors


def runner_with(model, optimizer):
    """A stand-in for the Runner at iteration 4 (0-based 3)."""
    hub = MessageHub.get_instance('safe_checkpoint_hook_test')
    hub.update_info('last_ckpt', 'work_dir/iter_2.pth')
    return SimpleNamespace(
        model=model,
        optim_wrapper=OptimWrapper(optimizer),
        iter=3,
        message_hub=hub)


def test_finds_parameters_buffers_and_optimizer_state():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(4, 2)).sum().backward()
    optimizer.step()
    runner = runner_with(model, optimizer)
    assert non_finite_tensors(runner) == []
    # what a huge learning rate leaves while the loss is still finite
    model[1].running_var[1] = float('inf')
    model[0].bias.data[0] = float('nan')
    optimizer.state[model[0].weight]['momentum_buffer'][0, 0] = float('-inf')
    assert non_finite_tensors(runner) == [
        '0.bias', '1.running_var', 'optimizer.0.momentum_buffer'
    ]


def test_refuses_to_save_and_names_the_last_good_checkpoint():
    model = nn.BatchNorm1d(2)
    model.running_var[0] = float('inf')
    runner = runner_with(model, torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(NonFiniteStateError) as error:
        SafeCheckpointHook()._stop_if_non_finite(runner, 'iter_4.pth')
    message = str(error.value)
    assert message.startswith(
        'Iteration 4: 1 tensors of the model or optimizer are NaN or '
        'infinite, so iter_4.pth was not saved:\n  running_var\n')
    assert 'The last good checkpoint is work_dir/iter_2.pth' in message
