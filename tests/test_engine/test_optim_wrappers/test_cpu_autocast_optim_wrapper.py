"""bfloat16 mixed precision on CPU for every algorithm, teacher included."""
import copy

import pytest
import torch
from mmengine.optim import build_optim_wrapper

from disco_mm.engine.optim_wrappers import cpu_autocast_optim_wrapper

needs_bf16 = pytest.mark.skipif(
    not cpu_autocast_optim_wrapper.cpu_has_native_bf16(),
    reason='the CPU has no native bfloat16')
SGD = dict(type='SGD', lr=0.1, momentum=0.9)


def batch(seed=0):
    """Two views of 4 random 32x32 images as the data loader gives them."""
    generator = torch.Generator().manual_seed(seed)
    views = [torch.rand(4, 3, 32, 32, generator=generator) * 255
             for _ in range(2)]
    return dict(inputs=views, data_samples=[None] * 4)


@needs_bf16
def test_forward_runs_in_bf16_and_weights_stay_fp32(build_tiny):
    model = build_tiny('DisCo')
    wrapper = build_optim_wrapper(
        model, dict(type='CPUAutocastOptimWrapper', optimizer=SGD))
    seen = {}

    def record(name):
        def hook(module, inputs, output):
            seen[name] = output[0].dtype

        return hook

    model.teacher.neck.register_forward_hook(record('teacher'))
    model.neck.register_forward_hook(record('student'))
    before = copy.deepcopy(model.backbone.state_dict())
    log_vars = model.train_step(batch(), wrapper)
    assert seen == dict(student=torch.bfloat16, teacher=torch.bfloat16)
    assert all(param.dtype == torch.float32 for param in model.parameters())
    assert all(torch.isfinite(value) for value in log_vars.values())
    changed = [
        key for key, value in model.backbone.state_dict().items()
        if value.is_floating_point() and not torch.equal(value, before[key])
    ]
    assert 'conv1.weight' in changed


@needs_bf16
def test_first_step_losses_match_fp32(build_tiny):
    fp32_model = build_tiny('DisCo')
    bf16_model = copy.deepcopy(fp32_model)
    losses = []
    for model, wrapper_type in ((fp32_model, 'OptimWrapper'),
                                (bf16_model, 'CPUAutocastOptimWrapper')):
        wrapper = build_optim_wrapper(
            model, dict(type=wrapper_type, optimizer=SGD))
        torch.manual_seed(0)  # the same shuffle-BN order in both
        losses.append(model.train_step(batch(), wrapper))
    fp32, bf16 = losses
    # The same weights: only bfloat16's rounding (8-bit mantissa) differs;
    # it adds up over the layers of the untrained tiny network to a few %.
    for name in ('loss_contrastive', 'loss_distill'):
        assert bf16[name].dtype == torch.float32
        assert bf16[name].item() == pytest.approx(fp32[name].item(), rel=0.1)
        assert bf16[name].item() != fp32[name].item()


def test_cpu_without_bf16_is_refused_with_the_fix(monkeypatch, build_tiny):
    monkeypatch.setattr(cpu_autocast_optim_wrapper, 'cpu_has_native_bf16',
                        lambda: False)
    with pytest.raises(RuntimeError, match='train without --amp'):
        build_optim_wrapper(
            build_tiny('MoCoV2Student'),
            dict(type='CPUAutocastOptimWrapper', optimizer=SGD))


def test_amp_wrapper_type_per_device():
    assert cpu_autocast_optim_wrapper.amp_optim_wrapper_type(
        'cuda') == 'AmpOptimWrapper'
    assert cpu_autocast_optim_wrapper.amp_optim_wrapper_type(
        'cpu') == 'CPUAutocastOptimWrapper'
