"""GlobalLocalDistill: both losses against a float64 hand computation, the
queue it fills, the mixed images both networks see, the global-only
variant."""
import copy

import pytest
import torch
from mmpretrain.registry import MODELS

from disco_mm.models.algorithms import global_local_distill

#: A ViT student of 16-d tokens: 64 px images in patches of 16, a 4x4 grid.
VIT_STUDENT = dict(
    type='TimmPooledBackbone',
    model_name='vit_tiny_patch16_224',
    img_size=64,
    patch_size=16,
    depth=1,
    embed_dim=16,
    num_heads=2)
TEMPERATURE = 0.07


@pytest.fixture
def build(tiny_frozen_teacher):
    """Returns a function building the ViT student and the tiny ResNet
    teacher (64-d pooled feature, a 2x2 map at 64 px) in float64, with a
    queue of 8."""

    def build_model(**overrides):
        cfg = dict(
            type='GlobalLocalDistill',
            backbone=VIT_STUDENT,
            teacher=tiny_frozen_teacher(neck=None),
            queue=dict(
                type='EmbeddingQueue', length=8, start_empty=True,
                gather=False))
        cfg.update(overrides)
        model = MODELS.build(cfg)
        model.init_weights()
        return model.double().train()

    return build_model


@pytest.fixture
def mixed_images(monkeypatch):
    """Records the images the algorithm's mixing gives."""
    seen = []
    mix = global_local_distill.mix_within_batch

    def recording_mix(images):
        seen.append(mix(images))
        return seen[-1]

    monkeypatch.setattr(global_local_distill, 'mix_within_batch',
                        recording_mix)
    return seen


def unit(x):
    return x / x.pow(2).sum(dim=-1, keepdim=True).sqrt()


def kl_rows(student_logits, teacher_logits):
    """Mean over rows of sum p_t (log p_t - log p_s), by hand."""
    log_p_s = student_logits - student_logits.exp().sum(-1, True).log()
    log_p_t = teacher_logits - teacher_logits.exp().sum(-1, True).log()
    return (log_p_t.exp() * (log_p_t - log_p_s)).sum(-1).mean()


def teacher_map(resnet, images):
    """The tiny teacher's last feature map, layer by layer."""
    x = resnet.maxpool(resnet.relu(resnet.norm1(resnet.conv1(images))))
    for name in resnet.res_layers:
        x = getattr(resnet, name)(x)
    return x


def hand_losses(model, images):
    """Both losses of a step by hand, on a copy of the model before it."""
    model = copy.deepcopy(model)
    with torch.no_grad():
        t_map = teacher_map(model.teacher.backbone, images)  # Bx64x2x2
        t = unit(t_map.mean(dim=(2, 3)))
        t_tokens = unit(t_map.flatten(2).transpose(1, 2))  # Bx4x64
        vit = model.backbone.model
        tokens = vit.forward_features(images)  # CLS + 4x4 patches
        g, l = model.global_projector, model.local_projector
        s = unit(tokens[:, 0] @ g.weight.t() + g.bias)
        projected = tokens[:, 1:] @ l.weight.t() + l.bias  # Bx16x64
        # 4x4 -> 2x2 bilinear, corners not aligned: each output sits in the
        # middle of a 2x2 block, the block's mean
        grid = projected.reshape(-1, 2, 2, 2, 2, 64)  # B, r, dr, c, dc, D
        s_tokens = unit(grid.mean(dim=(2, 4)).reshape(-1, 4, 64))
        queue = torch.cat([t, torch.zeros(4, 64, dtype=t.dtype)])
        global_loss = kl_rows(s @ queue.t() / TEMPERATURE,
                              t @ queue.t() / TEMPERATURE)
        local_loss = kl_rows(
            s_tokens @ s_tokens.transpose(1, 2) / TEMPERATURE,
            t_tokens @ t_tokens.transpose(1, 2) / TEMPERATURE)
    return dict(loss_global=global_loss, loss_local=local_loss), t


def test_losses_match_hand_computation_on_the_mixed_images(
        build, mixed_images):
    model = build()
    views = [torch.randn(4, 3, 64, 64, dtype=torch.float64)]
    reference = copy.deepcopy(model)
    losses = model.loss(views, [])
    assert len(mixed_images) == 1
    assert not torch.allclose(mixed_images[0], views[0])
    expected, teacher = hand_losses(reference, mixed_images[0])
    assert set(losses) == {'loss_global', 'loss_local'}
    for name, value in expected.items():
        torch.testing.assert_close(losses[name], value, rtol=1e-9, atol=1e-9)
    # the queue held this step's teacher embeddings before the loss
    torch.testing.assert_close(model.queue.embeddings[:4], teacher)
    assert not model.queue.embeddings[4:].any()


def test_every_student_parameter_and_projector_gets_a_gradient(build):
    model = build()
    losses = model.loss([torch.randn(4, 3, 64, 64, dtype=torch.float64)], [])
    sum(losses.values()).backward()
    trainable = [(name, param) for name, param in model.named_parameters()
                 if param.requires_grad]
    assert {name.split('.')[0] for name, _ in trainable} == {
        'backbone', 'global_projector', 'local_projector'}
    assert [name for name, param in trainable if param.grad is None] == []


def test_without_local_loss_only_the_teacher_embedding_is_computed(
        build, mixed_images, monkeypatch):
    model = build(local_loss=None)
    assert not hasattr(model, 'local_projector')

    def no_patch_tokens(images):
        raise AssertionError('the global-only variant needs no patch tokens')

    monkeypatch.setattr(model.teacher, 'forward_with_patch_tokens',
                        no_patch_tokens)
    losses = model.loss([torch.randn(4, 3, 64, 64, dtype=torch.float64)], [])
    assert set(losses) == {'loss_global'}
    with torch.no_grad():
        teacher = model.teacher(mixed_images[0])
    torch.testing.assert_close(model.queue.embeddings[:4], teacher)


def test_projectors_map_student_widths_to_the_teachers(build):
    model = build(backbone=dict(type='ResNet', depth=18, stem_channels=4,
                                base_channels=4, zero_init_residual=False))
    assert (model.global_projector.in_features,
            model.global_projector.out_features) == (32, 64)
    assert (model.local_projector.in_features,
            model.local_projector.out_features) == (32, 64)
    # weights from a normal of std 0.02
    for layer in (model.global_projector, model.local_projector):
        assert 0.017 < layer.weight.std() < 0.023


def test_a_neck_is_refused_naming_the_field(build, tiny_cfg):
    with pytest.raises(ValueError, match='remove model.neck'):
        build(neck=tiny_cfg['neck'])
