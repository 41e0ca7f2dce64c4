"""Released vision transformers read as teachers compute their embedding.

Each file is written at test time in its code base's layout at the
released model's shapes (random weights; see tests/transformer_layouts.py),
loaded into a FrozenTeacher with the format detected, and the teacher's
embedding is compared with the original model's computed in plain torch
from the same tensors.
"""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmpretrain.registry import MODELS

import timm
from timm.layers import resample_abs_pos_embed
from timm.models import convnext, eva

from checkpoint_layouts import build_teacher
from disco_mm.checkpoints import (detect_format, load_checkpoint_file,
                                  state_dict_of)
from disco_mm.checkpoints.files import CheckpointFormatError
from disco_mm.checkpoints.transformer_formats import (POS_EMBED, fit_dino,
                                                      fit_timm, read_dinov3,
                                                      read_dinov3_convnext)
from disco_mm.models.teachers import TeacherCheckpointError
from repo_paths import REPO_ROOT
from transformer_layouts import (CONVNEXT_TINY, DINO_HEAD, DINOV3_VIT_B,
                                 DINOV3_VIT_S, VIT_S, XCIT_S12, cls_and_mean,
                                 convnext_weights, dino_bottleneck,
                                 dino_full_checkpoint, dino_head_layout,
                                 dinov3_convnext_cls, dinov3_vit_tokens,
                                 dinov3_vit_weights, mocov3_projection,
                                 mocov3_projector_layout, random_weights,
                                 timm_vit, vit_layout, vit_tokens, xcit_cls,
                                 xcit_layout)

#: The largest difference allowed between teacher and reference.
TOLERANCE = 1e-5
DINO_NECK = dict(type='DINOProjector', in_channels=384)


def assert_matches(embedding: torch.Tensor, reference: torch.Tensor):
    """Same embedding, to TOLERANCE."""
    assert embedding.shape == reference.shape
    error = (embedding - reference).abs().max().item()
    assert error < TOLERANCE, f'max abs error {error}'


@pytest.fixture(scope='module')
def images():
    """Two random 224x224 images."""
    generator = torch.Generator().manual_seed(1)
    return torch.randn(2, 3, 224, 224, generator=generator)


@pytest.fixture(scope='module')
def folder(module_tmp_path_factory):
    return module_tmp_path_factory.mktemp('transformer_teachers')


@pytest.fixture(scope='module')
def dino_vit_s16(folder):
    """DINO ViT-S/16: backbone-only file, full checkpoint and tensors."""
    backbone = random_weights(vit_layout(**VIT_S, patch=16, grid=14))
    head = random_weights(dino_head_layout(384), seed=1)
    files = dict(
        backbone=folder / 'dino_deitsmall16_pretrain.pth',
        full=folder / 'dino_deitsmall16_pretrain_full_checkpoint.pth')
    torch.save(backbone, files['backbone'])
    torch.save(dino_full_checkpoint(backbone, head), files['full'])
    return {name: str(path) for name, path in files.items()}, backbone, head


@pytest.fixture(scope='module')
def dino_xcit_s12(folder):
    """DINO XCiT-S12/16: backbone-only file, full checkpoint, tensors."""
    backbone = random_weights(xcit_layout(**XCIT_S12))
    head = random_weights(dino_head_layout(384), seed=1)
    files = dict(
        backbone=folder / 'dino_xcit_small_12_p16_pretrain.pth',
        full=folder / 'dino_xcit_small_12_p16_pretrain_full_checkpoint.pth')
    torch.save(backbone, files['backbone'])
    torch.save(
        dino_full_checkpoint(backbone, head, wrapped_teacher=True),
        files['full'])
    return {name: str(path) for name, path in files.items()}, backbone, head


@pytest.fixture(scope='module', params=[0, 4], ids=['dinov2', 'dinov2_reg4'])
def dinov2_vits14(request, folder):
    """DINOv2 ViT-S/14 at 518 px (37x37 patches), with 0 or 4 registers."""
    registers = request.param
    state = random_weights(
        vit_layout(
            **VIT_S,
            patch=14,
            grid=37,
            layer_scale=True,
            registers=registers,
            mask_token=True))
    name = 'dinov2_vits14_reg4' if registers else 'dinov2_vits14'
    path = folder / f'{name}_pretrain.pth'
    torch.save(state, path)
    return str(path), state, registers


#: The teacher configs of the released DINOv3 ViTs, with the file names
#: and shapes of the releases.
DINOV3_TEACHERS = {
    'dinov3_vit-small-p16.py':
    ('dinov3_vits16_pretrain_lvd1689m-08c60483.pth', DINOV3_VIT_S),
    'dinov3_vit-base-p16.py':
    ('dinov3_vitb16_pretrain_lvd1689m-73cec8be.pth', DINOV3_VIT_B),
}
#: The trained size, and one of another shape (10x7 patches) for RoPE.
DINOV3_SIZES = [(224, 224), (160, 112)]


def shipped_teacher(config: str, checkpoint: str) -> tuple:
    """The teacher of ``configs/_base_/teachers/<config>`` on
    ``checkpoint``, and the width its student's projector ends at."""
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', '_base_', 'teachers', config))
    teacher = dict(cfg.model.teacher.to_dict(), checkpoint=checkpoint)
    return MODELS.build(teacher), cfg.model.neck.out_channels


def write_dinov3_vit(folder, config: str) -> tuple:
    """Writes the released file of ``config``; returns its path, tensors."""
    name, arch = DINOV3_TEACHERS[config]
    state = dinov3_vit_weights(**arch)
    torch.save(state, folder / name)
    return str(folder / name), state


@pytest.fixture(scope='module', params=sorted(DINOV3_TEACHERS))
def dinov3_vit(request, folder):
    """A released DINOv3 ViT (S/16, B/16) file, its tensors, its config."""
    path, state = write_dinov3_vit(folder, request.param)
    return path, state, request.param


@pytest.fixture(scope='module')
def dinov3_vits16(folder):
    """The released ViT-S/16 file and its tensors."""
    return write_dinov3_vit(folder, 'dinov3_vit-small-p16.py')


@pytest.fixture(scope='module')
def dinov3_convnext_tiny(folder):
    """The released ConvNeXt-Tiny file and its tensors."""
    state = convnext_weights(**CONVNEXT_TINY)
    path = folder / 'dinov3_convnext_tiny_pretrain_lvd1689m-21b726bb.pth'
    torch.save(state, path)
    return str(path), state


def sized_images(size):
    """Two random images of ``size`` (height, width)."""
    generator = torch.Generator().manual_seed(2)
    return torch.randn(2, 3, *size, generator=generator)


def test_dino_full_checkpoint_gives_the_head_bottleneck(dino_vit_s16, images):
    files, backbone, head = dino_vit_s16
    teacher = build_teacher(files['full'],
                            **timm_vit('vit_small_patch16_224',
                                       DINO_NECK))
    assert not any('last_layer' in key for key in teacher.weights())
    cls = vit_tokens(backbone, '', images, heads=6)[:, 0]
    assert_matches(teacher(images), dino_bottleneck(head, '', cls))


def test_dino_checkpoint_with_its_args_loads_as_its_copy(
        dino_vit_s16, folder, images, import_tool):
    """main_dino.py pickles its argparse.Namespace into the file: refused,
    and its tensors-only copy gives the same teacher as the file without."""
    _, backbone, head = dino_vit_s16
    path = str(folder / 'checkpoint.pth')
    torch.save(dino_full_checkpoint(backbone, head, with_args=True), path)
    parts = timm_vit('vit_small_patch16_224', DINO_NECK)
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(path, **parts)
    assert 'to_weights_only.py' in str(error.value)
    assert 'argparse.Namespace' in str(error.value)
    copy = str(folder / 'checkpoint_copy.pth')
    import_tool('model_converters/to_weights_only.py').main([path, copy])
    cls = vit_tokens(backbone, '', images[:1], heads=6)[:, 0]
    assert_matches(
        build_teacher(copy, **parts)(images[:1]),
        dino_bottleneck(head, '', cls))


@pytest.mark.parametrize('pooling', [None, 'cls+avgpool'])
def test_dino_backbone_gives_cls_or_cls_and_mean(dino_vit_s16, images,
                                                 pooling):
    files, backbone, _ = dino_vit_s16
    teacher = build_teacher(
        files['backbone'],
        **timm_vit('vit_small_patch16_224', pooling=pooling))
    tokens = vit_tokens(backbone, '', images, heads=6)
    feature = tokens[:, 0] if pooling is None else cls_and_mean(tokens)
    assert_matches(teacher(images), F.normalize(feature, dim=1))


def test_dino_backbone_with_a_projector_lists_the_missing_keys(
        dino_vit_s16):
    files, _, _ = dino_vit_s16
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(files['backbone'],
                      **timm_vit('vit_small_patch16_224', DINO_NECK))
    message = str(error.value)
    assert "read as 'dino_backbone'" in message
    assert '6 keys missing:\n  neck.mlp.0.weight' in message


def test_dino_xcit_backbone_gives_cls(dino_xcit_s12, images):
    files, backbone, _ = dino_xcit_s12
    teacher = build_teacher(files['backbone'],
                            **timm_vit('xcit_small_12_p16_224'))
    reference = xcit_cls(backbone, '', images, heads=8)
    assert_matches(teacher(images), F.normalize(reference, dim=1))


def test_dino_xcit_full_checkpoint_gives_the_head_bottleneck(
        dino_xcit_s12, images):
    """XCiT has BatchNorm, so DINO saves its teacher DDP-wrapped."""
    files, backbone, head = dino_xcit_s12
    assert 'teacher' in load_checkpoint_file(files['full'])
    teacher = build_teacher(files['full'],
                            **timm_vit('xcit_small_12_p16_224', DINO_NECK))
    reference = xcit_cls(backbone, '', images, heads=8)
    assert_matches(teacher(images), dino_bottleneck(head, '', reference))


@pytest.mark.parametrize('pooling', [None, 'cls+avgpool'])
def test_dinov2_position_embedding_resized_as_the_hub_model(
        dinov2_vits14, images, pooling):
    """518 px -> 224 px: 37x37 -> 16x16 patches, as the hub model does it.

    Without registers the hub model resizes with DINO's scale factor
    ``(16 + 0.1) / 37``; the ``_reg`` models to the size 16x16, antialiased.
    Registers are not patch tokens.
    """
    path, state, registers = dinov2_vits14
    model = ('vit_small_patch14_reg4_dinov2'
             if registers else 'vit_small_patch14_dinov2')
    teacher = build_teacher(
        path, **timm_vit(model, img_size=224, pooling=pooling))
    tokens = vit_tokens(
        state,
        '',
        images,
        heads=6,
        offset=0 if registers else 0.1,
        antialias=bool(registers))
    feature = (tokens[:, 0] if pooling is None else cls_and_mean(
        tokens, registers))
    assert_matches(teacher(images), F.normalize(feature, dim=1))


@pytest.mark.parametrize('size', DINOV3_SIZES, ids=['224', '160x112'])
def test_dinov3_vit_gives_its_cls_token(dinov3_vit, size):
    """The shipped teacher gives the CLS token of the official model, at
    the trained size and at another shape (RoPE computed for the grid of
    the input), as wide as its student's projector."""
    path, state, config = dinov3_vit
    teacher, student_width = shipped_teacher(config, path)
    images = sized_images(size)
    heads = DINOV3_TEACHERS[config][1]['heads']
    tokens = dinov3_vit_tokens(state, '', images, heads=heads)
    assert_matches(teacher(images), F.normalize(tokens[:, 0], dim=1))
    assert tokens.shape[-1] == student_width


def test_dinov3_cls_and_mean_leaves_the_storage_tokens_out(dinov3_vits16):
    """CLS and the mean of the patch tokens alone: the 4 storage tokens
    between them are no patches."""
    path, state = dinov3_vits16
    teacher = build_teacher(
        path,
        **timm_vit('vit_small_patch16_dinov3_qkvb', pooling='cls+avgpool'))
    images = sized_images(DINOV3_SIZES[1])
    tokens = dinov3_vit_tokens(state, '', images, heads=6)
    assert_matches(teacher(images),
                   F.normalize(cls_and_mean(tokens, registers=4), dim=1))


def test_dinov3_rope_periods_are_the_files(dinov3_vits16):
    """The teacher computes with the file's bfloat16-rounded periods; the
    float32 periods timm computes itself (and its checkpoint_filter_fn
    leaves the file's out) miss the official embedding by more than the
    tolerance."""
    path, state = dinov3_vits16
    teacher = build_teacher(
        path, **timm_vit('vit_small_patch16_dinov3_qkvb', global_pool='token'))
    rope = teacher.backbone.model.rope
    assert torch.equal(rope.periods, state['rope_embed.periods'].float())
    images = sized_images(DINOV3_SIZES[0])
    loaded = teacher(images)
    rope.periods.copy_(rope._compute_periods())
    assert (teacher(images) - loaded).abs().max() > TOLERANCE


def test_dinov3_vit_without_qkv_bias_takes_zero_biases_only(
        dinov3_vits16, folder):
    """timm's ``*_dinov3`` models have no qkv bias: a file whose query and
    value biases are zero reads exactly into them, other files are refused
    with the ``_qkvb`` model to use."""
    path, state = dinov3_vits16
    parts = timm_vit('vit_small_patch16_dinov3', global_pool='token')
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(path, **parts)
    assert "'vit_small_patch16_dinov3_qkvb'" in str(error.value)
    zero_biases = {
        key: torch.zeros_like(value) if key.endswith('qkv.bias') else value
        for key, value in state.items()
    }
    zero_path = str(folder / 'dinov3_vits16_zero_qkv_bias.pth')
    torch.save(zero_biases, zero_path)
    images = sized_images(DINOV3_SIZES[0])
    tokens = dinov3_vit_tokens(zero_biases, '', images, heads=6)
    assert_matches(
        build_teacher(zero_path, **parts)(images),
        F.normalize(tokens[:, 0], dim=1))


@pytest.mark.parametrize('dropped,listed', [
    ('blocks.11.ls2.gamma', 'backbone.model.blocks.11.gamma_2'),
    ('storage_tokens', 'backbone.model.reg_token'),
    ('rope_embed.periods', 'backbone.model.rope.periods'),
])
def test_dinov3_file_without_a_tensor_lists_it(dinov3_vits16, folder,
                                               dropped, listed):
    path, state = dinov3_vits16
    cut = str(folder / 'dinov3_vits16_cut.pth')
    torch.save({k: v for k, v in state.items() if k != dropped}, cut)
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(
            cut,
            format='dinov3',
            **timm_vit('vit_small_patch16_dinov3_qkvb', global_pool='token'))
    assert f'1 keys missing:\n  {listed}' in str(error.value)


def test_dinov3_key_bias_not_masked_is_refused():
    """Without a bias_mask zeroing it, a key bias is refused."""
    state = {
        'blocks.0.attn.qkv.bias': torch.ones(12),
        'blocks.0.attn.qkv.weight': torch.ones(12, 4)
    }
    with pytest.raises(CheckpointFormatError, match='key bias in 1 atten'):
        read_dinov3(state)
    mask = torch.tensor([1.0] * 4 + [0.0] * 4 + [1.0] * 4)
    weights = read_dinov3({**state, 'blocks.0.attn.qkv.bias_mask': mask})
    assert torch.equal(weights['backbone.model.blocks.0.attn.q_bias'],
                       torch.ones(4))


def test_dinov3_readers_are_timms_filters_but_for_the_rope_periods(
        dinov3_vits16, dinov3_convnext_tiny):
    """Tensor by tensor, the readers give what timm's checkpoint_filter_fn
    gives, and the ViT's RoPE periods, which timm's filter drops."""
    cases = [(dinov3_vits16[1], read_dinov3, 'vit_small_patch16_dinov3_qkvb',
              eva.checkpoint_filter_fn, {'rope.periods'}),
             (dinov3_convnext_tiny[1], read_dinov3_convnext, 'convnext_tiny',
              convnext.checkpoint_filter_fn, set())]
    for state, read, model_name, timm_filter, only_ours in cases:
        ours = {
            key[len('backbone.model.'):]: value
            for key, value in read(state).items()
        }
        timms = timm_filter(dict(state),
                            timm.create_model(model_name, num_classes=0))
        assert set(ours) - set(timms) == only_ours
        assert set(timms) <= set(ours)
        assert all(torch.equal(ours[key], timms[key]) for key in timms)


@pytest.mark.parametrize('size', DINOV3_SIZES, ids=['224', '160x112'])
def test_dinov3_convnext_tiny_gives_its_cls_token(dinov3_convnext_tiny, size):
    """The shipped teacher gives the official embedding: the final norm of
    the pooled feature map."""
    path, state = dinov3_convnext_tiny
    teacher, student_width = shipped_teacher('dinov3_convnext-tiny.py', path)
    images = sized_images(size)
    reference = dinov3_convnext_cls(state, '', images)
    assert_matches(teacher(images), F.normalize(reference, dim=1))
    assert reference.shape[-1] == student_width


def test_dino_resize_is_not_timms_and_timm_format_resizes_as_timm():
    """DINO's offset changes the embedding; format 'timm' resizes as timm."""
    pos_embed = torch.randn(1, 37 * 37 + 1, 8)
    teacher = {POS_EMBED: torch.zeros(1, 16 * 16 + 1, 8)}
    timm_way = resample_abs_pos_embed(
        pos_embed, (16, 16), num_prefix_tokens=1)
    dino_way = fit_dino({POS_EMBED: pos_embed}, teacher)[POS_EMBED]
    assert dino_way.shape == timm_way.shape
    assert (dino_way - timm_way).abs().max() > 1e-3
    torch.testing.assert_close(
        fit_timm({POS_EMBED: pos_embed}, teacher)[POS_EMBED], timm_way)


def test_mocov3_checkpoint_gives_the_projector_output(folder, images):
    """MoCo-v3's ViT-S has 12 heads and a 384-4096-4096-256 projector."""
    base = random_weights(vit_layout(**VIT_S, patch=16, grid=14))
    base.update(
        random_weights(mocov3_projector_layout(384), 'head.', seed=1))
    state = {f'module.base_encoder.{key}': value for key, value in base.items()}
    state.update({
        f'module.momentum_encoder.{key}': value
        for key, value in base.items()
    })
    state.update(
        random_weights(
            mocov3_projector_layout(256, out=256), 'module.predictor.',
            seed=2))
    path = str(folder / 'vit-s-300ep.pth.tar')
    torch.save(dict(epoch=300, arch='vit_small', state_dict=state), path)
    neck = dict(
        type='NonLinearNeck',
        in_channels=384,
        hid_channels=4096,
        out_channels=256,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_last_bias=False,
        with_avg_pool=False,
        norm_cfg=dict(type='BN1d'))
    teacher = build_teacher(
        path, **timm_vit('vit_small_patch16_224', neck, num_heads=12))
    cls = vit_tokens(base, '', images, heads=12)[:, 0]
    assert_matches(
        teacher(images),
        F.normalize(mocov3_projection(base, 'head.', cls), dim=1))


@pytest.mark.parametrize('img_size', [32, 48], ids=['same', 'resized'])
def test_mmpretrain_vision_transformer_read_as_timm(folder, img_size):
    """mmpretrain's own forward is the reference (it resizes on the fly)."""
    arch = dict(embed_dims=64, num_layers=2, num_heads=2,
                feedforward_channels=256)
    source = MODELS.build(
        dict(type='VisionTransformer', arch=arch, img_size=32, patch_size=8,
             layer_scale_init_value=0.5))
    neck = MODELS.build(dict(type='DINOProjector', in_channels=64,
                             hid_channels=32, out_channels=16))
    source.eval()
    state = {}
    for prefix, module in (('backbone.', source), ('neck.', neck)):
        for key, value in module.state_dict().items():
            state[prefix + key] = torch.randn_like(value) * 0.5
    path = str(folder / f'mmpretrain_vit_{img_size}.pth')
    torch.save(dict(meta={}, state_dict=state), path)
    source.load_state_dict(
        {k[len('backbone.'):]: v for k, v in state.items()
         if k.startswith('backbone.')})
    neck.load_state_dict(
        {k[len('neck.'):]: v for k, v in state.items()
         if k.startswith('neck.')})
    teacher = build_teacher(
        path,
        **timm_vit(
            'vit_small_patch16_224',
            dict(type='DINOProjector', in_channels=64, hid_channels=32,
                 out_channels=16),
            img_size=img_size, patch_size=8, embed_dim=64, depth=2,
            num_heads=2, init_values=0.5))
    images = torch.randn(2, 3, img_size, img_size)
    with torch.no_grad():
        reference = neck(source(images))[0]
    assert_matches(teacher(images), F.normalize(reference, dim=1))


def test_transformer_files_are_told_apart(dino_vit_s16, dino_xcit_s12,
                                          dinov2_vits14, dinov3_vits16,
                                          dinov3_convnext_tiny):
    """Each layout is detected as its own format."""
    expected = {
        dino_vit_s16[0]['full']: 'dino',
        dino_vit_s16[0]['backbone']: 'dino_backbone',
        dino_xcit_s12[0]['full']: 'dino',
        dino_xcit_s12[0]['backbone']: 'dino_backbone',
        dinov2_vits14[0]: 'dinov2',
        dinov3_vits16[0]: 'dinov3',
        dinov3_convnext_tiny[0]: 'dinov3_convnext',
    }
    for path, name in expected.items():
        assert detect_format(state_dict_of(load_checkpoint_file(path))) == name


def test_teacher_attention_runs_fused_sdpa(dino_vit_s16, images,
                                           monkeypatch):
    """timm's ViT attention goes through scaled_dot_product_attention."""
    files, _, _ = dino_vit_s16
    teacher = build_teacher(files['full'],
                            **timm_vit('vit_small_patch16_224', DINO_NECK))
    calls = []
    fused = F.scaled_dot_product_attention

    def counting(*args, **kwargs):
        calls.append(args[0].shape)
        return fused(*args, **kwargs)

    monkeypatch.setattr(F, 'scaled_dot_product_attention', counting)
    teacher(images[:1])
    # one call per block, on 6 heads of 197 tokens of 64 dims
    assert calls == [torch.Size([1, 6, 197, 64])] * 12


def test_dino_head_widths_are_the_released(dino_vit_s16):
    _, _, head = dino_vit_s16
    neck = MODELS.build(DINO_NECK)
    assert {k: tuple(v.shape) for k, v in neck.state_dict().items()} == {
        f'mlp.{key[len("mlp."):]}': tuple(value.shape)
        for key, value in head.items() if key.startswith('mlp.')
    }
    assert neck((torch.zeros(1, 384, 1, 1), ))[0].shape == (1, DINO_HEAD[1])


def test_cls_and_mean_pooling_needs_a_cls_token():
    with pytest.raises(ValueError, match="pooling='cls\\+avgpool' needs"):
        MODELS.build(
            dict(type='TimmPooledBackbone', model_name='resnet18',
                 pooling='cls+avgpool'))
    with pytest.raises(ValueError, match="pooling='mean'"):
        MODELS.build(
            dict(type='TimmPooledBackbone', model_name='resnet18',
                 pooling='mean'))
