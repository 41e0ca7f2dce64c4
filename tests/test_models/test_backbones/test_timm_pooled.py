"""Student backbones: parameter counts of docs/method.md section 3, timm
layout."""
import copy

import pytest
import timm
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from disco_mm.models.backbones import TimmPooledBackbone

# (backbone config, parameters of the official students, feature width)
STUDENTS = {
    'resnet18': (dict(type='ResNet', depth=18,
                      zero_init_residual=False), 11_176_512, 512),
    'resnet34': (dict(type='ResNet', depth=34,
                      zero_init_residual=False), 21_284_672, 512),
    'efficientnet_b0':
    (dict(type='TimmPooledBackbone',
          model_name='efficientnet_b0'), 4_007_548, 1280),
    'efficientnet_b1':
    (dict(type='TimmPooledBackbone',
          model_name='efficientnet_b1'), 6_513_184, 1280),
    'mobilenetv3_large':
    (dict(type='TimmPooledBackbone',
          model_name='mobilenetv3_large_100'), 4_202_032, 1280),
    # timm's 5.7M and 6.7M count the 1000-class classifier (193,000)
    'vit_tiny':
    (dict(type='TimmPooledBackbone',
          model_name='vit_tiny_patch16_224'), 5_524_416, 192),
    'xcit_tiny_12':
    (dict(type='TimmPooledBackbone',
          model_name='xcit_tiny_12_p16_224'), 6_523_272, 192),
}
TIMM_STUDENTS = [
    'efficientnet_b0', 'efficientnet_b1', 'mobilenetv3_large', 'vit_tiny',
    'xcit_tiny_12'
]
#: The image side of each student's tests: the ViTs need their 224 px.
IMAGE_SIZE = {'vit_tiny': 224, 'xcit_tiny_12': 224, 'at 64 px': 64}


def random_images(name):
    """Two random images of the side ``name`` takes (32 px by default)."""
    size = IMAGE_SIZE.get(name, 32)
    return torch.randn(2, 3, size, size)


@pytest.fixture(scope='module')
def student():
    """Returns a function that builds a student backbone once per module.

    The backbone is in eval mode; tests that change it work on a copy.
    """
    built = {}

    def get(name):
        if name not in built:
            built[name] = MODELS.build(STUDENTS[name][0])
            built[name].eval()  # mmpretrain's ResNet.train() returns None
        return built[name]

    return get


@pytest.mark.parametrize('name', list(STUDENTS))
def test_student_parameters_and_feature_width(student, name):
    _, parameters, width = STUDENTS[name]
    backbone = student(name)
    assert sum(p.numel() for p in backbone.parameters()) == parameters
    with torch.no_grad():
        features = backbone(random_images(name))
    assert features[-1].shape[:2] == (2, width)


@pytest.mark.parametrize('name', TIMM_STUDENTS)
def test_output_is_timm_pooled_feature(student, name):
    backbone = student(name)
    reference = timm.create_model(backbone.model_name, num_classes=0).eval()
    reference.load_state_dict(backbone.model.state_dict())
    images = random_images(name)
    with torch.no_grad():
        outputs = backbone(images)
        expected = reference.forward_head(
            reference.forward_features(images), pre_logits=True)
    assert isinstance(outputs, tuple) and len(outputs) == 1
    assert outputs[0].shape == (2, expected.shape[1], 1, 1)
    torch.testing.assert_close(outputs[0][:, :, 0, 0], expected)
    assert backbone.num_features == outputs[0].shape[1]


def test_mobilenetv3_pools_before_conv_head(student):
    backbone = copy.deepcopy(student('mobilenetv3_large'))
    head = backbone.model.conv_head
    assert tuple(head.weight.shape) == (1280, 960, 1, 1)
    images = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        # into hard-swish's curved range, where the two orders differ
        head.weight.mul_(300.0)
        feature_map = backbone.model.forward_features(images)
        assert feature_map.shape == (2, 960, 2, 2)
        pooled_first = F.hardswish(
            F.conv2d(
                feature_map.mean(dim=(2, 3), keepdim=True), head.weight,
                head.bias))
        head_first = F.hardswish(
            F.conv2d(feature_map, head.weight, head.bias)).mean(
                dim=(2, 3), keepdim=True)
        output = backbone(images)[0]
    torch.testing.assert_close(output, pooled_first)
    assert not torch.allclose(output, head_first, atol=1e-3)


@pytest.mark.parametrize('model_name', [
    'vit_tiny_patch16_224', 'xcit_tiny_12_p16_224', 'deit_small_patch16_224',
    'vit_small_patch32_224'
])
def test_any_timm_vit_by_name_has_timms_parameters(model_name):
    backbone = TimmPooledBackbone(model_name)
    reference = timm.create_model(model_name, num_classes=0)
    assert (sum(p.numel() for p in backbone.parameters()) == sum(
        p.numel() for p in reference.parameters()))
    assert backbone.num_features == reference.embed_dim


def test_passes_timm_arguments():
    backbone = MODELS.build(
        dict(
            type='TimmPooledBackbone',
            model_name='efficientnet_b0',
            drop_rate=0.3))
    assert backbone.model.drop_rate == 0.3
    assert backbone.model_name == 'efficientnet_b0'


def test_dinov3_rope_periods_are_in_the_state_dict():
    """The periods load with the weights and are what RoPE computes with;
    timm's own state dict (and every other model's) leaves them out."""
    backbone = TimmPooledBackbone(
        'vit_small_patch16_dinov3_qkvb', global_pool='token', depth=1)
    reference = timm.create_model(
        'vit_small_patch16_dinov3_qkvb', num_classes=0, depth=1)
    assert set(backbone.model.state_dict()) == {
        *reference.state_dict(), 'rope.periods'
    }
    backbone.eval()
    images = torch.randn(1, 3, 32, 48)
    before = backbone(images)[0]
    state = backbone.state_dict()
    state['model.rope.periods'] = state['model.rope.periods'] * 2
    backbone.load_state_dict(state)
    assert not torch.allclose(backbone(images)[0], before)
    vit = TimmPooledBackbone('vit_tiny_patch16_224')
    assert set(vit.model.state_dict()) == set(
        timm.create_model('vit_tiny_patch16_224').state_dict()) - {
            'head.weight', 'head.bias'
        }


def test_unknown_timm_name_raises():
    with pytest.raises(
            ValueError, match="model.backbone.model_name='efficientnet_b99'"):
        TimmPooledBackbone('efficientnet_b99')


def test_frozen_model_has_no_gradient_and_stays_in_eval_mode(student):
    backbone = TimmPooledBackbone(
        'efficientnet_b0', frozen=True, drop_path_rate=0.5)
    assert backbone.train() is backbone
    assert not [n for n, p in backbone.named_parameters() if p.requires_grad]
    assert not [n for n, m in backbone.model.named_modules() if m.training]
    # eval mode: stochastic depth off, BatchNorm from running statistics
    images = torch.randn(2, 3, 32, 32)
    torch.testing.assert_close(backbone(images)[0], backbone(images)[0])

    trainable = copy.deepcopy(student('efficientnet_b0')).train()
    assert all(p.requires_grad for p in trainable.parameters())
    assert trainable.model.bn1.training


@pytest.mark.parametrize('name', ['mobilenetv3_large', 'vit_tiny'])
def test_patch_tokens_come_with_the_pooled_feature(student, name):
    """One pass gives forward's pooled feature and the patch tokens: a CNN's
    last feature map before any post-pooling head (MobileNetV3: 960 of its
    1280 channels), a ViT's tokens after the CLS token."""
    backbone = student(name)
    images = random_images('vit_tiny' if name == 'vit_tiny' else 'at 64 px')
    with torch.no_grad():
        pooled, tokens, grid = backbone.forward_with_patch_tokens(images)
        features = backbone.model.forward_features(images)
        torch.testing.assert_close(pooled[0], backbone(images)[0])
    if name == 'vit_tiny':
        assert grid == (14, 14)
        torch.testing.assert_close(tokens, features[:, 1:])
    else:
        assert grid == (2, 2) and features.shape == (2, 960, 2, 2)
        torch.testing.assert_close(tokens, features.flatten(2).transpose(1, 2))
    assert tokens.shape == (2, grid[0] * grid[1], backbone.patch_token_width)
