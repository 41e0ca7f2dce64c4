"""A teacher in bfloat16 / float16: cast once, float32 out, or refused."""
import json

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from torch import nn

from disco_mm import precision

native_bf16 = pytest.mark.skipif(
    not precision.cpu_has_native_bf16(),
    reason='this CPU computes bfloat16 without native instructions')


@pytest.fixture
def teacher_of(tiny_cfg, tiny_teacher):
    """Returns a function building the tiny teacher in a precision."""

    def build(teacher_precision, **kwargs):
        return MODELS.build(
            dict(
                type='FrozenTeacher',
                backbone=tiny_cfg['backbone'],
                neck=tiny_cfg['neck'],
                checkpoint=tiny_teacher[0],
                precision=teacher_precision,
                **kwargs))

    return build


@native_bf16
def test_bf16_teacher_casts_all_but_batch_norm(teacher_of, tiny_teacher):
    teacher = teacher_of('bf16', fold_batch_norm=False)
    for name, module in teacher.named_modules():
        tensors = list(module.parameters(recurse=False)) + list(
            module.buffers(recurse=False))
        floats = [tensor for tensor in tensors if tensor.is_floating_point()]
        kept = isinstance(module, nn.modules.batchnorm._BatchNorm)
        expected = torch.float32 if kept else torch.bfloat16
        assert all(tensor.dtype == expected for tensor in floats), name
    # the loaded values, rounded to bfloat16
    _, state = tiny_teacher
    assert torch.equal(teacher.backbone.conv1.weight,
                       state['backbone.conv1.weight'].bfloat16())
    assert torch.equal(teacher.backbone.bn1.running_var,
                       state['backbone.bn1.running_var'])


@native_bf16
def test_bf16_teacher_is_folded_in_float32_then_cast(teacher_of):
    folded = teacher_of('fp32').weights()
    reduced = teacher_of('bf16').weights()
    assert reduced.keys() == folded.keys()
    for key, value in folded.items():
        assert torch.equal(reduced[key], value.bfloat16()), key


@native_bf16
def test_bf16_embedding_is_float32_and_close_to_fp32(teacher_of):
    images = torch.rand(16, 3, 32, 32)
    full, reduced = teacher_of('fp32')(images), teacher_of('bf16')(images)
    assert reduced.dtype == torch.float32
    assert torch.allclose(reduced.norm(dim=1), torch.ones(16), atol=1e-6)
    cosine = F.cosine_similarity(full, reduced)
    assert cosine.min() > 0.99
    assert not torch.equal(full, reduced)  # it did compute in bfloat16


@native_bf16
def test_parent_load_keeps_teacher_in_bf16(build_tiny, tiny_cfg,
                                           tiny_teacher):
    model = build_tiny('DisCo')
    model.teacher = MODELS.build(
        dict(
            type='FrozenTeacher',
            backbone=tiny_cfg['backbone'],
            neck=tiny_cfg['neck'],
            checkpoint=tiny_teacher[0],
            precision='bf16'))
    loaded = model.teacher.backbone.conv1.weight.clone()
    model.load_state_dict(model.state_dict())
    assert model.teacher.backbone.conv1.weight.dtype == torch.bfloat16
    assert torch.equal(model.teacher.backbone.conv1.weight, loaded)


def test_bf16_without_native_support_is_refused(teacher_of, monkeypatch):
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError) as error:
        teacher_of('bf16')
    assert 'AVX512-BF16 or AMX' in str(error.value)
    assert "set model.teacher.precision='fp32'" in str(error.value)


@pytest.mark.machine_precision
@pytest.mark.parametrize('native, reduced_dtype', [(True, torch.bfloat16),
                                                   (False, None)])
def test_auto_is_bf16_where_the_cpu_computes_it(teacher_of, monkeypatch,
                                                logged, native,
                                                reduced_dtype):
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: native)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert teacher_of('auto').reduced_dtype == reduced_dtype
    expected = ("The teacher computes in torch.bfloat16 "
                "(model.teacher.precision='auto'; "
                "model.teacher.precision='fp32' for float32)."
                if native else "The teacher computes in torch.float32 "
                "(model.teacher.precision='auto').")
    assert expected in logged


@pytest.mark.machine_precision
@pytest.mark.parametrize('bf16_gpu, reduced_dtype', [(True, torch.bfloat16),
                                                     (False, None)])
def test_auto_on_a_gpu_follows_the_gpu(teacher_of, monkeypatch, bf16_gpu,
                                       reduced_dtype):
    """The model trains on the GPU: the CPU's support does not count."""
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: bf16_gpu)
    assert teacher_of('auto').reduced_dtype == reduced_dtype


@pytest.mark.machine_precision
def test_auto_is_the_default(tiny_cfg, tiny_teacher, monkeypatch):
    monkeypatch.setattr(precision, 'cpu_has_native_bf16', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    teacher = MODELS.build(
        dict(
            type='FrozenTeacher',
            backbone=tiny_cfg['backbone'],
            neck=tiny_cfg['neck'],
            checkpoint=tiny_teacher[0]))
    assert teacher.reduced_dtype == torch.bfloat16


def test_fp16_without_gpu_is_refused(teacher_of, monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    with pytest.raises(RuntimeError, match="precision='fp16' needs a GPU"):
        teacher_of('fp16')


def test_unknown_precision_names_the_choices(teacher_of):
    with pytest.raises(ValueError) as error:
        teacher_of('int8')
    assert "model.teacher.precision='int8' is not a precision" in str(
        error.value)
    assert "'auto' or one of ['bf16', 'fp16', 'fp32']" in str(error.value)


@native_bf16
def test_tool_compares_both_teachers_on_the_config_loader(
        tmp_path, import_tool, digits_disco_config, digits_teacher):
    tool = import_tool('analysis_tools/teacher_precision.py')
    out = tmp_path / 'report.json'
    tool.main([
        digits_disco_config, '--teacher-checkpoint', digits_teacher[0],
        '--steps', '3', '--out',
        str(out), '--cfg-options', 'train_dataloader.batch_size=8',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'model.queue.length=24'
    ])
    report = json.loads(out.read_text())
    assert report['steps'] == 3 and report['images'] == 24
    assert 0.99 < report['cosine']['min'] <= report['cosine']['mean'] <= 1
    for name in ('loss', 'loss_contrastive', 'loss_distill'):
        curves = report['losses'][name]
        assert len(curves['fp32']) == len(curves['twin']) == 3
    # the same start: the first contrastive losses agree to bf16's rounding
    first = report['losses']['loss_contrastive']
    assert first['twin'][0] == pytest.approx(first['fp32'][0], rel=1e-2)
    assert report['relative_gap']['loss']['max'] < 0.05


@native_bf16
def test_bf16_transformer_teacher_is_close_to_fp32(tmp_path):
    # LayerNorm and fused attention in bfloat16 too
    backbone = dict(
        type='TimmPooledBackbone',
        model_name='vit_tiny_patch16_224',
        img_size=32,
        patch_size=4,
        depth=2,
        embed_dim=64,
        num_heads=2)
    weights = MODELS.build(backbone).state_dict()
    path = str(tmp_path / 'vit.pth')
    torch.save({
        'state_dict':
        {f'backbone.{key}': value
         for key, value in weights.items()}
    }, path)

    def teacher(teacher_precision):
        return MODELS.build(
            dict(
                type='FrozenTeacher',
                backbone=backbone,
                neck=None,
                checkpoint=path,
                format='mmpretrain',
                precision=teacher_precision))

    reduced = teacher('bf16')
    assert reduced.backbone.model.blocks[0].norm1.weight.dtype == (
        torch.bfloat16)
    images = torch.rand(8, 3, 32, 32)
    full_embedding, reduced_embedding = teacher('fp32')(images), reduced(
        images)
    assert reduced_embedding.dtype == torch.float32
    assert F.cosine_similarity(full_embedding,
                               reduced_embedding).min() > 0.99
