"""Proteus: the three losses and their weights against a float64 hand
computation, the masks (which images and patches, how many), the masked
patches' pixels never reaching the student, and the refusals."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmpretrain.registry import MODELS

from disco_mm.models.algorithms import proteus

#: A ViT student of DINOv2's student layout (patches of 14, layer scale
#: 1.0), small: 56 px images give a 4x4 grid of 16-d tokens.
STUDENT = dict(
    type='TimmPooledBackbone',
    model_name='vit_tiny_patch16_224',
    img_size=56,
    patch_size=14,
    depth=2,
    embed_dim=16,
    num_heads=2,
    init_values=1.0)
#: A DINOv2-layout ViT teacher of 32-d tokens on the same 4x4 grid.
TEACHER_BACKBONE = dict(
    type='TimmPooledBackbone',
    model_name='vit_small_patch14_dinov2',
    img_size=56,
    depth=1,
    embed_dim=32,
    num_heads=2)
PATCHES = 16
#: The layer norm of the official heads: PyTorch's default epsilon.
HEAD_EPS = 1e-5


@pytest.fixture
def vit_teacher(tmp_path):
    """Returns a function giving the config of a FrozenTeacher of
    :data:`TEACHER_BACKBONE` (random weights in a file), raw CLS token."""
    weights = MODELS.build(TEACHER_BACKBONE).state_dict()
    path = str(tmp_path / 'vit_teacher.pth')
    torch.save(
        {'state_dict': {f'backbone.{k}': v
                        for k, v in weights.items()}}, path)

    def teacher(**overrides):
        return dict(
            dict(
                type='FrozenTeacher',
                backbone=TEACHER_BACKBONE,
                neck=None,
                checkpoint=path,
                format='mmpretrain',
                normalize=False), **overrides)

    return teacher


@pytest.fixture
def build(vit_teacher):
    """Returns a function building the tiny Proteus in float64, train mode;
    keyword arguments override its config."""

    def build_model(**overrides):
        cfg = dict(type='Proteus', backbone=STUDENT, teacher=vit_teacher())
        cfg.update(overrides)
        model = MODELS.build(cfg)
        model.init_weights()
        with torch.no_grad():  # a mask token that is not zero
            model.mask_token.normal_()
        return model.double().train()

    return build_model


@pytest.fixture
def drawn_masks(monkeypatch):
    """Records the masks the algorithm draws."""
    drawn = []
    draw = proteus.random_patch_masks

    def recording_draw(*args):
        drawn.append(draw(*args))
        return drawn[-1]

    monkeypatch.setattr(proteus, 'random_patch_masks', recording_draw)
    return drawn


def head(layers, x):
    """LayerNorm (PyTorch's epsilon) then linear, by hand."""
    norm, linear = layers
    mean = x.mean(dim=-1, keepdim=True)
    variance = (x - mean).pow(2).mean(dim=-1, keepdim=True)
    normed = (x - mean) / (variance + HEAD_EPS).sqrt() * norm.weight
    return (normed + norm.bias) @ linear.weight.t() + linear.bias


def vit_tokens(vit, images, masks=None, mask_token=None):
    """A timm ViT's output tokens (CLS first), block by block; with
    ``masks``, the masked patches' embeddings replaced before the CLS token
    and the position embedding are added."""
    x = vit.patch_embed(images)
    if masks is not None:
        x = torch.where(masks[..., None], mask_token, x)
    x = torch.cat([vit.cls_token.expand(len(x), -1, -1), x], dim=1)
    x = x + vit.pos_embed
    for block in vit.blocks:
        x = block(x)
    return vit.norm(x)


def hand_losses(model, images, masks):
    """The three unweighted losses of a step by hand, on a copy."""
    model = copy.deepcopy(model)
    count = len(masks)
    with torch.no_grad():
        teacher = vit_tokens(model.teacher.backbone.model, images)
        t_cls, t_patches = teacher[:, 0], teacher[:, 1:]
        vit = model.backbone.model
        student = vit_tokens(vit, images)
        masked = vit_tokens(vit, images[:count], masks, model.mask_token)[:,
                                                                           1:]
        s_cls = head(model.token_head, student[:, 0])
        s_patches = head(model.feature_head, student[:, 1:])
        s_masked = head(model.patch_head, masked)
        token = (s_cls - t_cls).pow(2).mean()
        feature = (torch.cat([(s_cls - t_cls).pow(2).flatten(),
                              (s_patches - t_patches).pow(2).flatten()])
                   .mean())
        squared = [(s_masked[i, j] - t_patches[i, j]).pow(2)
                   for i in range(count) for j in range(PATCHES)
                   if masks[i, j]]
        patch = torch.cat(squared).mean()
    return dict(loss_token=token, loss_feature=feature, loss_patch=patch)


@pytest.mark.parametrize('weights', [(1.0, 1.0, 1.0), (0.5, 2.0, 3.0)])
def test_losses_match_hand_computation(build, drawn_masks, weights):
    names = ('token', 'feature', 'patch')
    model = build(**{
        f'{name}_loss': dict(
            type='EmbeddingDistillLoss', reduction='mean', loss_weight=weight)
        for name, weight in zip(names, weights)
    })
    images = torch.randn(5, 3, 56, 56, dtype=torch.float64)
    reference = copy.deepcopy(model)
    losses = model.loss([images], [])
    (masks, ) = drawn_masks
    # int(5 * 0.5) = 2 images, int(16 * 0.5) = 8 patches each
    assert masks.shape == (2, PATCHES)
    assert masks.sum(dim=1).tolist() == [8, 8]
    expected = hand_losses(reference, images, masks)
    assert set(losses) == set(expected)
    for name, weight in zip(names, weights):
        torch.testing.assert_close(
            losses[f'loss_{name}'],
            weight * expected[f'loss_{name}'],
            rtol=1e-9,
            atol=1e-12)


def test_every_student_and_head_parameter_gets_a_gradient(build):
    model = build()
    losses = model.loss([torch.randn(4, 3, 56, 56, dtype=torch.float64)], [])
    sum(losses.values()).backward()
    trainable = [(name, param) for name, param in model.named_parameters()
                 if param.requires_grad]
    assert {name.split('.')[0] for name, _ in trainable} == {
        'backbone', 'token_head', 'feature_head', 'patch_head', 'mask_token'}
    assert [name for name, param in trainable if param.grad is None] == []
    assert all(param.grad is None for param in model.teacher.parameters())


@pytest.mark.parametrize('probability, ratio, batch, images, patches', [
    (0.5, 0.5, 4, 2, 8),
    (0.75, 0.25, 4, 3, 4),
    (1.0, 0.9, 3, 3, 14),
])
def test_masked_images_and_patches_follow_the_fractions(
        build, drawn_masks, probability, ratio, batch, images, patches):
    model = build(mask_probability=probability, mask_ratio=ratio)
    model.loss([torch.randn(batch, 3, 56, 56, dtype=torch.float64)], [])
    (masks, ) = drawn_masks
    assert masks.dtype == torch.bool
    assert masks.shape == (images, PATCHES)
    assert masks.sum(dim=1).tolist() == [patches] * images


def test_mask_positions_are_uniform_and_differ_between_images():
    masks = proteus.random_patch_masks(4000, 256, 0.5, torch.device('cpu'))
    assert masks.sum(dim=1).eq(128).all()
    # each patch is masked in about half of the images
    frequency = masks.double().mean(dim=0)
    assert frequency.min() > 0.46 and frequency.max() < 0.54
    assert len({tuple(row.nonzero().flatten().tolist())
                for row in masks[:100]}) == 100


def test_masked_patches_pixels_never_reach_the_student(build):
    model = build()
    backbone = model.backbone
    images = torch.randn(2, 3, 56, 56, dtype=torch.float64)
    masks = torch.zeros(2, PATCHES, dtype=torch.bool)
    masks[0, 5] = True  # row 1, column 1: pixels 14-27 x 14-27
    changed = images.clone()
    changed[0, :, 14:28, 14:28] += 1
    with torch.no_grad():
        outputs = [
            backbone.forward_with_patch_tokens(x, masks, model.mask_token)
            for x in (images, changed)
        ]
        unmasked = backbone.forward_with_patch_tokens(changed)
    (pooled, ), tokens, grid = outputs[0]
    assert grid == (4, 4)
    torch.testing.assert_close(outputs[1][1], tokens)
    torch.testing.assert_close(outputs[1][0][0], pooled)
    # without the mask the changed pixels change the tokens; the second
    # image, not masked, is the plain forward's
    assert not torch.allclose(unmasked[1][0], tokens[0])
    torch.testing.assert_close(unmasked[1][1], tokens[1])


def test_masking_a_cnn_backbone_is_refused():
    cnn = MODELS.build(
        dict(type='TimmPooledBackbone', model_name='resnet10t'))
    masks = torch.ones(1, 4, dtype=torch.bool)
    with pytest.raises(ValueError,
                       match='masking patches needs a vision transformer'):
        cnn.forward_with_patch_tokens(
            torch.randn(1, 3, 64, 64), masks, torch.zeros(1, 512))


def test_a_batch_without_an_image_to_mask_is_refused(build):
    model = build()
    with pytest.raises(ValueError, match='train_dataloader.batch_size'):
        model.loss([torch.randn(1, 3, 56, 56, dtype=torch.float64)], [])


@pytest.mark.parametrize('name', ['mask_probability', 'mask_ratio'])
def test_no_masking_is_refused(build, name):
    with pytest.raises(ValueError, match=f'model.{name}=0'):
        build(**{name: 0})


def test_a_cnn_student_is_refused_naming_the_key(build, tiny_cfg):
    with pytest.raises(ValueError,
                       match='model.backbone is a ResNet.*Set model.backbone'):
        build(backbone=tiny_cfg['backbone'])


def test_a_cnn_teacher_is_refused_naming_the_key(build, tiny_frozen_teacher):
    with pytest.raises(ValueError,
                       match='model.teacher.backbone is a ResNet'):
        build(teacher=tiny_frozen_teacher(neck=None, normalize=False))


def test_a_normalised_teacher_embedding_is_refused(build, vit_teacher):
    with pytest.raises(ValueError, match='model.teacher.normalize=False'):
        build(teacher=vit_teacher(normalize=True))


def test_a_pooled_student_feature_is_refused(build):
    with pytest.raises(ValueError, match='leave model.backbone.pooling=None'):
        build(backbone=dict(STUDENT, pooling='cls+avgpool'))


def test_different_patch_sizes_are_refused_naming_the_patch_size(build):
    # 56 px in patches of 16: a 3x3 grid against the teacher's 4x4
    with pytest.raises(
            ValueError,
            match=r'\(16, 16\) px and the teacher.s \(14, 14\) px.*'
            'model.backbone.patch_size'):
        build(backbone=dict(STUDENT, patch_size=16))


def test_a_neck_is_refused_naming_the_field(build, tiny_cfg):
    with pytest.raises(ValueError, match='remove model.neck'):
        build(neck=tiny_cfg['neck'])


def test_official_config_decays_what_timm_decays(build, repo_root):
    """The official optimiser (timm's ``create_optimizer``) decays every
    weight of two or more dimensions (the CLS token, the position
    embedding and the mask token included) and no bias, norm or layer
    scale."""
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', 'proteus', 'proteus_vit-tiny-p14_'
                 'dinov2-vit-small-p14_4xb128-adamw-coslr-300e_in1k.py'))
    model = build()
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    decay = {
        id(param): group['weight_decay']
        for group in optimizer.param_groups for param in group['params']
    }
    trainable = [(name, param) for name, param in model.named_parameters()
                 if param.requires_grad]
    assert 'mask_token' in dict(trainable)
    for name, param in trainable:
        no_decay = param.ndim <= 1 or name.endswith('.bias')
        assert decay[id(param)] == (0.0 if no_decay else 0.05), name
