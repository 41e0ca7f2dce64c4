"""BatchNorm folded into convolutions: the same function, fewer layers."""
import pytest
import torch
from mmpretrain.registry import MODELS
from torch import nn

from disco_mm.models.utils import folded_batch_norms


def randomised_statistics(network: nn.Module, seed: int = 0) -> nn.Module:
    """Gives every BatchNorm random affine weights and statistics."""
    generator = torch.Generator().manual_seed(seed)
    for module in network.modules():
        if isinstance(module, nn.BatchNorm2d):
            channels = module.num_features
            module.weight.data = torch.rand(channels, generator=generator) + .5
            module.bias.data = torch.randn(channels, generator=generator)
            module.running_mean = torch.randn(channels, generator=generator)
            module.running_var = torch.rand(channels, generator=generator) + .1
    network.eval()  # mmpretrain's ResNet.train returns None
    return network


def batch_norm_count(network: nn.Module) -> int:
    return sum(
        isinstance(module, nn.BatchNorm2d) for module in network.modules())


class ConvBatchNormBranches(nn.Module):
    """conv -> BatchNorm, where the conv's output may also skip the norm."""

    def __init__(self, reuse_conv_output: bool, bias: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=bias)
        self.norm = nn.BatchNorm2d(4)
        self.reuse_conv_output = reuse_conv_output

    def forward(self, images):
        features = self.conv(images)
        normalised = self.norm(features)
        return normalised + features if self.reuse_conv_output else normalised


def test_folded_resnet_computes_the_same_function():
    resnet = randomised_statistics(
        MODELS.build(dict(type='ResNet', depth=18, out_indices=(2, 3))))
    images = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    resnet.double()
    folded = folded_batch_norms(resnet, images)
    assert batch_norm_count(resnet) == 20 and batch_norm_count(folded) == 0
    expected, actual = resnet(images), folded(images)
    assert len(actual) == 2
    for want, got in zip(expected, actual):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('bias', [False, True])
def test_a_convolution_with_bias_folds_its_bias(bias):
    network = randomised_statistics(ConvBatchNormBranches(False, bias=bias))
    images = torch.randn(2, 3, 8, 8)
    folded = folded_batch_norms(network, images)
    scale = network.norm.weight / torch.sqrt(network.norm.running_var +
                                             network.norm.eps)
    conv_bias = network.conv.bias if bias else 0
    torch.testing.assert_close(
        folded.conv.bias,
        (conv_bias - network.norm.running_mean) * scale + network.norm.bias)
    torch.testing.assert_close(folded(images), network(images))


def test_a_convolution_output_used_twice_is_not_folded():
    network = randomised_statistics(ConvBatchNormBranches(True))
    assert folded_batch_norms(network, torch.randn(2, 3, 8, 8)) is None


def test_batch_norm_with_more_in_its_forward_is_kept():
    """A subclass (timm's BatchNormAct2d adds an activation) is left."""

    class NormThenHalve(nn.BatchNorm2d):

        def forward(self, inputs):
            return super().forward(inputs) / 2

    network = randomised_statistics(ConvBatchNormBranches(False))
    network.norm = NormThenHalve(4).eval()
    assert folded_batch_norms(network, torch.randn(2, 3, 8, 8)) is None


def test_a_network_in_train_mode_is_not_folded():
    network = randomised_statistics(ConvBatchNormBranches(False))
    network.train()
    assert folded_batch_norms(network, torch.randn(2, 3, 8, 8)) is None


@pytest.fixture
def teacher_with_statistics(tmp_path, tiny_cfg):
    """A tiny teacher checkpoint with random BatchNorm weights too."""
    backbone = randomised_statistics(MODELS.build(tiny_cfg['backbone']), 1)
    neck = MODELS.build(tiny_cfg['neck'])
    state = {
        f'{prefix}.{key}': value
        for prefix, module in (('backbone', backbone), ('neck', neck))
        for key, value in module.state_dict().items()
    }
    path = str(tmp_path / 'teacher.pth')
    torch.save(dict(state_dict=state), path)

    def build(**kwargs):
        return MODELS.build(
            dict(
                type='FrozenTeacher',
                backbone=tiny_cfg['backbone'],
                neck=tiny_cfg['neck'],
                checkpoint=path,
                precision='fp32',
                **kwargs))

    return build


def test_teacher_folds_by_default_and_says_so(teacher_with_statistics, logged):
    folded = teacher_with_statistics()
    kept = teacher_with_statistics(fold_batch_norm=False)
    assert batch_norm_count(folded) == 0
    assert batch_norm_count(kept) == batch_norm_count(kept.backbone) == 20
    assert ("The teacher's 20 BatchNorm layers are folded into the "
            'convolutions before them (model.teacher.fold_batch_norm=False '
            'keeps them).') in logged
    images = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(folded(images), kept(images))
    assert not any(key.endswith('running_var') for key in folded.weights())


def test_teacher_on_batch_statistics_is_not_folded(teacher_with_statistics,
                                                   logged):
    teacher = teacher_with_statistics(bn_train_mode=True)
    assert batch_norm_count(teacher) == 20
    assert not [message for message in logged if 'folded' in message]
