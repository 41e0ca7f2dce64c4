"""SmallMapConv2d: nn.Conv2d whose bf16 weight gradient is a matrix product."""
import pytest
import torch
from mmpretrain.registry import MODELS
from torch import nn

from disco_mm.models.utils import SmallMapConv2d, with_small_map_convs
from disco_mm.models.utils.small_map_conv import shifted_product_weight_grad

GEOMETRIES = [
    # (in, out, kernel, stride, padding, dilation, input size)
    (8, 6, 3, 1, 1, 1, 4),
    (8, 6, 3, 2, 1, 1, 7),
    (8, 6, 1, 2, 0, 1, 7),
    (5, 7, (3, 1), (2, 1), (1, 0), 1, (6, 5)),
    (4, 4, 3, 1, 2, 2, 5),
    (3, 6, 7, 2, 3, 1, 12),
]


@pytest.mark.parametrize('geometry', GEOMETRIES)
def test_weight_grad_equals_autograds_in_float64(geometry):
    in_channels, out_channels, kernel, stride, padding, dilation, size = (
        geometry)
    conv = nn.Conv2d(
        in_channels,
        out_channels,
        kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        bias=False).double()
    height, width = size if isinstance(size, tuple) else (size, size)
    inputs = torch.randn(3, in_channels, height, width, dtype=torch.float64)
    output = conv(inputs)
    output_grad = torch.randn_like(output)
    output.backward(output_grad)
    torch.testing.assert_close(
        shifted_product_weight_grad(output_grad, inputs, conv.kernel_size,
                                    conv.stride, conv.padding, conv.dilation),
        conv.weight.grad,
        rtol=1e-12,
        atol=1e-12)


def bf16_gradients(conv: nn.Conv2d, inputs: torch.Tensor, seed: int = 0):
    """Output and gradients of one bf16-autocast pass of ``conv``."""
    conv.zero_grad()
    inputs = inputs.clone().requires_grad_()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        output = conv(inputs)
    output.float().mul(
        torch.randn(
            output.shape, generator=torch.Generator().manual_seed(seed))).sum(
            ).backward()
    return output, inputs.grad, conv.weight.grad, getattr(
        conv.bias, 'grad', None)


@pytest.mark.parametrize('bias', [False, True])
@pytest.mark.parametrize('channels_last', [False, True])
def test_small_map_layer_trains_as_nn_conv2d_in_bf16(bias, channels_last):
    plain = nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=bias)
    layer = SmallMapConv2d.from_conv(nn.Conv2d(16, 32, 3, 2, 1, bias=bias))
    layer.load_state_dict(plain.state_dict())
    inputs = torch.randn(4, 16, 8, 8)  # a 4x4 output map: the product
    if channels_last:
        for module in (plain, layer):
            module.to(memory_format=torch.channels_last)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    expected, actual = bf16_gradients(plain, inputs), bf16_gradients(
        layer, inputs)
    assert actual[0].dtype == torch.bfloat16
    assert actual[2].dtype == torch.float32  # the parameter's own type
    for want, got in zip(expected, actual):
        if want is None:
            assert got is None
            continue
        # the same sums rounded to bfloat16 in another order (the bias is
        # added after the output's rounding)
        assert ((got.float() - want.float()).abs().max() <=
                0.01 * want.float().abs().max())


def test_only_bf16_training_on_small_maps_takes_the_product(monkeypatch):
    calls = []
    real = shifted_product_weight_grad
    monkeypatch.setattr(
        'disco_mm.models.utils.small_map_conv.shifted_product_weight_grad',
        lambda *args: calls.append(args[1].shape) or real(*args))
    layer = SmallMapConv2d.from_conv(nn.Conv2d(4, 4, 3, padding=1))

    def train_pass(size, autocast=True, grad=True):
        inputs = torch.randn(2, 4, size, size)
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast):
            with torch.set_grad_enabled(grad):
                output = layer(inputs)
        if grad:
            output.float().sum().backward()

    train_pass(7)  # 49 output pixels
    assert calls == [(2, 4, 7, 7)]
    train_pass(8)  # 64
    train_pass(7, autocast=False)
    train_pass(7, grad=False)
    layer.weight.requires_grad_(False)
    train_pass(7)
    assert len(calls) == 1


def test_a_resnet_keeps_its_parameters_and_state_dict():
    resnet = MODELS.build(dict(type='ResNet', depth=18))
    parameters = list(resnet.parameters())
    state = resnet.state_dict()
    assert with_small_map_convs(resnet) == 20
    assert all(
        type(module) is not nn.Conv2d for module in resnet.modules())
    assert all(a is b for a, b in zip(resnet.parameters(), parameters))
    assert resnet.state_dict().keys() == state.keys()


def test_grouped_and_subclassed_convolutions_are_left():

    class Custom(nn.Conv2d):
        pass

    network = nn.Sequential(
        nn.Conv2d(4, 4, 3, groups=2), Custom(4, 4, 3),
        nn.Conv2d(4, 4, 3, padding='same'),
        nn.Conv2d(4, 4, 3, padding=1, padding_mode='reflect'))
    assert with_small_map_convs(network) == 0


def test_distillers_use_it_for_the_student_only(build_tiny):
    disco = build_tiny('DisCo')
    assert isinstance(disco.backbone.conv1, SmallMapConv2d)
    assert type(disco.teacher.backbone.conv1) is nn.Conv2d
    plain = build_tiny('DisCo', small_map_convs=False)
    assert type(plain.backbone.conv1) is nn.Conv2d
