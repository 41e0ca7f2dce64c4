"""FrozenTeacher.forward_with_patch_tokens: a ViT's patch tokens without its
prefix tokens, a CNN's last feature map, and the same embedding as
forward."""
import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

#: A ViT of DINOv2-with-registers' layout (CLS + 4 register tokens), small:
#: 56 px images in patches of 14 give a 4x4 grid.
VIT_WITH_REGISTERS = dict(
    type='TimmPooledBackbone',
    model_name='vit_small_patch14_reg4_dinov2',
    img_size=56,
    depth=2,
    embed_dim=32,
    num_heads=2)


@pytest.fixture
def vit_teacher(tmp_path):
    """A FrozenTeacher of :data:`VIT_WITH_REGISTERS` (CLS embedding)."""
    weights = MODELS.build(VIT_WITH_REGISTERS).state_dict()
    path = str(tmp_path / 'vit.pth')
    torch.save(
        {'state_dict': {f'backbone.{k}': v
                        for k, v in weights.items()}}, path)
    return MODELS.build(
        dict(
            type='FrozenTeacher',
            backbone=VIT_WITH_REGISTERS,
            neck=None,
            checkpoint=path,
            format='mmpretrain'))


def test_vit_patch_tokens_leave_out_cls_and_registers(vit_teacher):
    images = torch.randn(3, 3, 56, 56)
    output = vit_teacher.forward_with_patch_tokens(images)
    model = vit_teacher.backbone.model
    assert model.num_prefix_tokens == 5  # CLS and 4 registers
    all_tokens = model.forward_features(images)
    assert all_tokens.shape == (3, 5 + 16, 32)
    assert output.patch_tokens.shape == (3, 16, 32)
    assert output.grid_size == (4, 4)
    torch.testing.assert_close(output.patch_tokens, all_tokens[:, 5:])
    # the embedding is the unit CLS token, as forward gives it
    cls = F.normalize(all_tokens[:, 0], dim=1)
    torch.testing.assert_close(output.embedding, cls)
    torch.testing.assert_close(vit_teacher(images), cls)


def test_vit_grid_follows_a_non_square_image():
    backbone = MODELS.build(dict(VIT_WITH_REGISTERS, dynamic_img_size=True))
    with torch.no_grad():
        _, tokens, grid = backbone.forward_with_patch_tokens(
            torch.randn(2, 3, 28, 70))
    assert grid == (2, 5)
    assert tokens.shape == (2, 10, 32)


def last_stage(resnet, images):
    """The last stage's map of mmpretrain's ResNet, layer by layer."""
    x = resnet.maxpool(resnet.relu(resnet.norm1(resnet.conv1(images))))
    for name in resnet.res_layers:
        x = getattr(resnet, name)(x)
    return x


@pytest.mark.parametrize('with_projector', [True, False])
def test_resnet_patch_tokens_are_the_last_stage_map(build_teacher_of,
                                                    with_projector):
    teacher = build_teacher_of(with_projector)
    images = torch.randn(2, 3, 96, 64)
    output = teacher.forward_with_patch_tokens(images)
    feature_map = last_stage(teacher.backbone, images)
    assert feature_map.shape == (2, 64, 3, 2)
    assert output.grid_size == (3, 2)
    # token k is the map's pixel (k // 2, k % 2)
    for k in range(6):
        torch.testing.assert_close(output.patch_tokens[:, k],
                                   feature_map[:, :, k // 2, k % 2])
    torch.testing.assert_close(output.embedding, teacher(images))


def test_forward_is_unchanged_by_the_patch_token_path(build_teacher_of):
    """forward gives the unit projection of the backbone, as before."""
    teacher = build_teacher_of(True)
    images = torch.randn(2, 3, 64, 64)
    projected = teacher.neck((last_stage(teacher.backbone, images), ))[0]
    torch.testing.assert_close(teacher(images), F.normalize(projected, dim=1))


@pytest.fixture
def build_teacher_of(tiny_cfg, tiny_teacher):
    """Returns a function building the tiny ResNet teacher, with or without
    its projector."""

    def build(with_projector):
        return MODELS.build(
            dict(
                type='FrozenTeacher',
                backbone=tiny_cfg['backbone'],
                neck=tiny_cfg['neck'] if with_projector else None,
                checkpoint=tiny_teacher[0]))

    return build


def test_backbone_without_feature_map_is_refused(tmp_path):
    backbone = dict(
        type='VisionTransformer',
        arch=dict(embed_dims=16, num_layers=1, num_heads=2,
                  feedforward_channels=32),
        img_size=32,
        patch_size=16,
        out_type='cls_token')
    weights = MODELS.build(backbone).state_dict()
    path = str(tmp_path / 'mmpretrain_vit.pth')
    torch.save(
        {'state_dict': {f'backbone.{k}': v
                        for k, v in weights.items()}}, path)
    teacher = MODELS.build(
        dict(type='FrozenTeacher', backbone=backbone, neck=None,
             checkpoint=path, format='mmpretrain'))
    with pytest.raises(ValueError, match='not a NxCxHxW feature map'):
        teacher.forward_with_patch_tokens(torch.randn(1, 3, 32, 32))
