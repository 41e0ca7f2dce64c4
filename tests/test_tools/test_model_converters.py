"""tools/model_converters/: teachers in, students out, features unchanged.

The converters run in this process (their ``main(argv)``) on checkpoints
written with each code base's key names (tests/checkpoint_layouts.py).
"""
import os.path as osp
import re
import sys

import numpy as np
import pytest
import timm
import torch
import torchvision
from mmengine.config import Config
from mmpretrain.registry import MODELS

from checkpoint_layouts import (TINY_R50, build_teacher, encoder_tensors,
                                moco_file, resnet_feature, tiny_neck)
from disco_mm.checkpoints import (CheckpointFormatError,
                                  StockModelMismatchError)
from disco_mm.models.teachers import TeacherCheckpointError

# Students of docs/method.md section 3 and the transformer students by timm
# name: feature width and the backbone parameter count (timm's 5.7M and 6.7M
# for ViT-Tiny/16 and XCiT-Tiny-12/16 count their 1000-class classifier,
# 193,000 parameters).
STUDENTS = {
    'resnet18': (512, 11_176_512),
    'efficientnet_b0': (1280, 4_007_548),
    'mobilenetv3_large_100': (1280, 4_202_032),
    'vit_tiny_patch16_224': (192, 5_524_416),
    'xcit_tiny_12_p16_224': (192, 6_523_272),
}
#: The transformer students of STUDENTS, which take 224 px images.
TRANSFORMER_STUDENTS = ('vit_tiny_patch16_224', 'xcit_tiny_12_p16_224')


def student_backbone(name):
    """The disco_mm backbone config of a student of STUDENTS."""
    if name == 'resnet18':
        return dict(type='ResNet', depth=18)
    return dict(type='TimmPooledBackbone', model_name=name)


class NotATensor:
    """A class only this module defines: loading it would run code."""


@pytest.fixture(scope='session')
def load_tool(import_tool):
    """Returns a function that imports tools/model_converters/<name>.py."""
    return lambda name: import_tool(f'model_converters/{name}.py')


@pytest.fixture
def images():
    """Two random 32x32 images."""
    return torch.randn(2, 3, 32, 32)


def student_images(name, images):
    """``images``, or two random 224 px images for a transformer student."""
    if name in TRANSFORMER_STUDENTS:
        return torch.randn(2, 3, 224, 224)
    return images


def timm_encoder(model_name, prefix, hidden=32, out=4):
    """A timm model with DisCo's MLP at ``classifier`` (official students).

    Returns:
        tuple: The model without classifier (eval mode) and the tensors.
    """
    model = timm.create_model(model_name, num_classes=0).eval()
    width = model.num_features
    tensors = {f'{prefix}{k}': v for k, v in model.state_dict().items()}
    tensors.update({
        f'{prefix}classifier.0.weight': torch.randn(hidden, width),
        f'{prefix}classifier.0.bias': torch.randn(hidden),
        f'{prefix}classifier.2.weight': torch.randn(out, hidden),
        f'{prefix}classifier.2.bias': torch.randn(out),
    })
    return model, tensors


def swav_state():
    """A tiny SwAV ResNet-50 file: module.*, projection head, prototypes."""
    state = encoder_tensors(
        'module.', depth=50, projector=('projection_head.', 'bn_mlp', 16, 4))
    state['module.prototypes.weight'] = torch.randn(10, 4)
    return state


def teacher_cases(tmp_path):
    """Original files, converter arguments and the teacher they are for.

    Returns:
        dict: ``{tool: (src, extra argv, backbone, neck, format)}``.
    """
    moco = encoder_tensors('module.encoder_q.', depth=50)
    moco['module.queue'] = torch.randn(4, 8)
    official = {
        **encoder_tensors('module.encoder_q.'),
        **encoder_tensors('module.teacher_encoder_q.', depth=50)
    }
    torchvision_resnet = encoder_tensors('')
    projector = {
        key.replace('fc.', 'mlp.'): torchvision_resnet.pop(key)
        for key in [k for k in torchvision_resnet if k.startswith('fc.')]
    }
    timm_model = timm.create_model('test_efficientnet')
    files = dict(
        moco=moco_file(moco),
        swav=swav_state(),
        official=moco_file(official),
        torchvision=torchvision_resnet,
        projector=projector,
        timm=timm_model.state_dict())
    for name, checkpoint in files.items():
        torch.save(checkpoint, tmp_path / f'{name}.pth')
    path = {name: str(tmp_path / f'{name}.pth') for name in files}
    timm_backbone = dict(
        type='TimmPooledBackbone', model_name='test_efficientnet')
    tiny_r18 = dict(type='ResNet', depth=18, stem_channels=8, base_channels=8)
    return {
        'moco2disco_mm':
        (path['moco'], [], TINY_R50, tiny_neck('mlp'), 'auto'),
        'swav2disco_mm':
        (path['swav'], [], TINY_R50, tiny_neck('bn_mlp'), 'auto'),
        'disco_official2disco_mm': (path['official'], ['--part',
                                                       'teacher'], TINY_R50,
                                    tiny_neck('mlp'), 'auto'),
        'torchvision2disco_mm':
        (path['torchvision'], ['--projector', path['projector']], tiny_r18,
         tiny_neck('mlp', 64), 'auto'),
        'timm2disco_mm': (path['timm'], ['--model-name', 'test_efficientnet'],
                          timm_backbone, None, 'timm'),
    }


@pytest.mark.parametrize('tool', [
    'moco2disco_mm', 'swav2disco_mm', 'disco_official2disco_mm',
    'torchvision2disco_mm', 'timm2disco_mm'
])
def test_converted_teacher_equals_teacher_read_directly(
        tmp_path, load_tool, images, tool):
    src, argv, backbone, neck, checkpoint_format = teacher_cases(
        tmp_path)[tool]
    dst = str(tmp_path / 'converted' / 'teacher.pth')
    load_tool(tool).main([src, dst, *argv])
    projector = argv[1] if argv[:1] == ['--projector'] else None
    direct = build_teacher(
        src,
        backbone,
        neck,
        format=checkpoint_format,
        projector_checkpoint=projector,
        fold_batch_norm=False)
    converted = build_teacher(dst, backbone, neck)
    written = torch.load(dst, weights_only=True)
    # a clean file: exactly the teacher's tensors, nothing else
    assert written['state_dict'].keys() == direct.weights().keys()
    for key, value in direct.weights().items():
        assert torch.equal(written['state_dict'][key], value), key
    torch.testing.assert_close(converted(images), direct(images))


def official_student(tmp_path, load_tool, student):
    """Converts the student of an official DisCo checkpoint.

    Args:
        tmp_path (Path): Where to write the files.
        load_tool (callable): The :func:`load_tool` fixture.
        student (dict): The student's tensors under ``module.encoder_q.``;
            a tiny ResNet-50 teacher is added.

    Returns:
        tuple[str, dict]: The converted file and its state dict.
    """
    official = {
        **student,
        **encoder_tensors('module.teacher_encoder_q.', depth=50)
    }
    src = str(tmp_path / 'ResNet50-Student-checkpoint_0199.pth.tar')
    torch.save(moco_file(official), src)
    converted = str(tmp_path / 'student.pth')
    load_tool('disco_official2disco_mm').main(
        [src, converted, '--part', 'student'])
    return converted, torch.load(converted, weights_only=True)['state_dict']


def test_official_resnet_student_to_torchvision(tmp_path, load_tool, images):
    official = encoder_tensors(
        'module.encoder_q.', width=64, projector=('fc.', 'mlp', 32, 4))
    student, written = official_student(tmp_path, load_tool, official)
    assert {'neck.mlp.0.weight', 'neck.mlp.2.bias'} <= set(written)
    assert not [k for k in written if 'teacher' in k or 'queue' in k]

    exported = str(tmp_path / 'resnet18_torchvision.pth')
    load_tool('extract_student').main(
        [student, exported, '--to', 'torchvision'])
    model = torchvision.models.resnet18().eval()
    result = model.load_state_dict(
        torch.load(exported, weights_only=True), strict=False)
    assert result.missing_keys == ['fc.weight', 'fc.bias']
    assert result.unexpected_keys == []
    model.fc = torch.nn.Identity()
    with torch.no_grad():
        torch.testing.assert_close(
            model(images), resnet_feature(official, 'module.encoder_q.',
                                          images))


def test_official_timm_student_to_pooled_backbone(tmp_path, load_tool, images):
    original, official = timm_encoder('test_efficientnet', 'module.encoder_q.')
    _, written = official_student(tmp_path, load_tool, official)
    backbone = MODELS.build(
        dict(type='TimmPooledBackbone', model_name='test_efficientnet'))
    backbone.load_state_dict({
        key[len('backbone.'):]: value
        for key, value in written.items() if key.startswith('backbone.')
    })
    with torch.no_grad():
        torch.testing.assert_close(backbone.eval()(images)[0].flatten(1),
                                   original(images))
    assert written['neck.mlp.2.weight'].shape == (4, 32)


def randomise_batch_norm_statistics(module):
    """Gives every BatchNorm running statistics that a test can see."""
    for name, buffer in module.named_buffers():
        if name.endswith('running_mean'):
            buffer.copy_(torch.randn_like(buffer) * 0.1)
        elif name.endswith('running_var'):
            buffer.copy_(torch.rand_like(buffer) + 0.5)


@pytest.fixture
def trained_student(tmp_path, build_tiny):
    """Returns a function: a DisCo training checkpoint of a student.

    The checkpoint holds the student, its projector, the momentum encoder
    and the queue, and its config's text, like one saved by mmengine (the
    teacher is never saved).

    Returns:
        callable: ``name -> (path, model in eval mode)`` for a key of
        STUDENTS.
    """

    def train(name):
        backbone = student_backbone(name)
        model = build_tiny(
            'DisCo',
            backbone=backbone,
            neck=tiny_neck('mlp', STUDENTS[name][0]))
        with torch.no_grad():
            randomise_batch_norm_statistics(model.backbone)
        path = str(tmp_path / f'{name}_epoch_200.pth')
        # mmengine's Runner saves its config's text under meta['cfg']
        config_text = Config(dict(model=dict(backbone=backbone))).pretty_text
        torch.save(
            dict(
                meta=dict(epoch=200, cfg=config_text),
                state_dict=model.state_dict()), path)
        return path, model.eval()

    return train


def pooled_student_feature(model, images):
    """The training student's pooled backbone feature, NxC."""
    with torch.no_grad():
        return model.backbone(images)[-1].mean(dim=(2, 3))


def parameter_count(module):
    """Number of parameters (not buffers) of a module."""
    return sum(param.numel() for param in module.parameters())


@pytest.mark.parametrize('name', list(STUDENTS))
def test_extract_student_to_timm(tmp_path, load_tool, trained_student, images,
                                 name):
    images = student_images(name, images)
    src, model = trained_student(name)
    dst = str(tmp_path / f'{name}_timm.pth')
    load_tool('extract_student').main([src, dst, '--to', 'timm'])
    exported = torch.load(dst, weights_only=True)
    timm_model = timm.create_model(
        name, pretrained=False, num_classes=0).eval()
    timm_model.load_state_dict(exported, strict=True)
    assert parameter_count(model.backbone) == STUDENTS[name][1]
    assert sum(exported[key].numel()
               for key, _ in timm_model.named_parameters()
               if key in exported) == STUDENTS[name][1]
    with torch.no_grad():
        feature = timm_model.forward_head(
            timm_model.forward_features(images), pre_logits=True)
    torch.testing.assert_close(feature, pooled_student_feature(model, images))


def test_extract_vit_student_to_mmpretrain_vision_transformer(
        tmp_path, load_tool, trained_student):
    src, model = trained_student('vit_tiny_patch16_224')
    dst = str(tmp_path / 'vit_tiny_mmpretrain.pth')
    load_tool('extract_student').main([src, dst, '--to', 'mmpretrain-vit'])
    exported = torch.load(dst, weights_only=True)
    assert exported['meta']['stock_model'] == (
        "mmpretrain's VisionTransformer(arch='deit-tiny', img_size=224, "
        'patch_size=16)')
    assert all(key.startswith('backbone.') for key in exported['state_dict'])
    vit = MODELS.build(
        dict(
            type='VisionTransformer',
            arch='deit-tiny',
            img_size=224,
            patch_size=16))
    vit.load_state_dict({
        key[len('backbone.'):]: value
        for key, value in exported['state_dict'].items()
    },
                        strict=True)
    vit.eval()  # mmpretrain's backbones return None from train()
    assert parameter_count(vit) == STUDENTS['vit_tiny_patch16_224'][1]
    images = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        class_token = vit(images)[-1]
    torch.testing.assert_close(
        class_token,
        pooled_student_feature(model, images),
        atol=1e-5,
        rtol=0)


@pytest.mark.parametrize('name, message', [
    ('xcit_tiny_12_p16_224', r'not a timm ViT of the layout of mmpretrain.*'
     r'it has patch_embed\.proj\.0\.0\.weight.*--to timm'),
    ('resnet18', 'not a timm ViT of the layout of mmpretrain.*it has '
     r'conv1\.weight'),
])
def test_mmpretrain_vit_export_refuses_other_students(
        tmp_path, load_tool, trained_student, name, message):
    src, _ = trained_student(name)
    dst = str(tmp_path / 'exported.pth')
    with pytest.raises(CheckpointFormatError, match=message):
        load_tool('extract_student').main([src, dst, '--to', 'mmpretrain-vit'])
    assert not osp.exists(dst)


def test_extract_student_to_torchvision(tmp_path, load_tool, trained_student,
                                        images):
    src, model = trained_student('resnet18')
    dst = str(tmp_path / 'resnet18_torchvision.pth')
    load_tool('extract_student').main([src, dst, '--to', 'torchvision'])
    exported = torch.load(dst, weights_only=True)
    assert exported.keys() == model.backbone.state_dict().keys()
    torchvision_model = torchvision.models.resnet18().eval()
    result = torchvision_model.load_state_dict(exported, strict=False)
    assert result.missing_keys == ['fc.weight', 'fc.bias']
    torchvision_model.fc = torch.nn.Identity()
    assert parameter_count(torchvision_model) == 11_176_512
    with torch.no_grad():
        torch.testing.assert_close(
            torchvision_model(images), pooled_student_feature(model, images))


def test_torchvision_export_refuses_other_students(tmp_path, load_tool,
                                                   trained_student):
    src, _ = trained_student('efficientnet_b0')
    with pytest.raises(
            CheckpointFormatError,
            match="not a ResNet of torchvision's layout.*conv_stem.weight"
            '.*--to timm'):
        load_tool('extract_student').main(
            [src, str(tmp_path / 'out.pth'), '--to', 'torchvision'])


#: The digits configs' student: a ResNet-18 of width 16.
RESNET18_W16 = dict(
    type='ResNet', depth=18, stem_channels=16, base_channels=16)

#: How each target library builds its stock ResNet-18, and what the
#: refusal says builds the student instead.
STOCK_RESNET18 = {
    'timm': ("timm.create_model('resnet18', pretrained=False, num_classes=0)",
             "timm's ResNet always has 64 stem channels, mmpretrain's "
             'ResNet(depth=18, stem_channels=16, base_channels=16)'),
    'torchvision': ('torchvision.models.resnet18(weights=None)',
                    "torchvision's ResNet always has 64 stem channels, "
                    "mmpretrain's ResNet(depth=18, stem_channels=16, "
                    'base_channels=16)'),
    'mmdet': ("mmdet's ResNet(depth=18) (configs/benchmarks/detection/)",
              "detection config's backbone stem_channels=16, "
              'base_channels=16'),
}


def narrow_resnet_refusal(dst, to):
    """The message that refuses to export a ResNet-18 of width 16."""
    call, hint = STOCK_RESNET18[to]
    return (rf'(?s){re.escape(dst)} not written: {re.escape(call)} cannot '
            r'load the student of .*conv1\.weight \[16, 3, 7, 7\] against '
            rf'\[64, 3, 7, 7\].*{re.escape(hint)}.*pass --allow-mismatch')


def exported_state(path, to):
    """The tensors of an exported file."""
    written = torch.load(path, weights_only=True)
    return written['state_dict'] if to == 'mmdet' else written


@pytest.mark.parametrize('to', list(STOCK_RESNET18))
def test_narrow_resnet_is_refused_unless_mismatch_allowed(
        tmp_path, load_tool, to):
    student = MODELS.build(RESNET18_W16)
    with torch.no_grad():
        randomise_batch_norm_statistics(student)
    src = str(tmp_path / 'w16_epoch_60.pth')
    torch.save({
        'state_dict': {f'backbone.{k}': v
                       for k, v in student.state_dict().items()}
    }, src)
    dst = str(tmp_path / 'exported.pth')
    with pytest.raises(
            StockModelMismatchError, match=narrow_resnet_refusal(dst, to)):
        load_tool('extract_student').main([src, dst, '--to', to])
    assert not osp.exists(dst)

    load_tool('extract_student').main(
        [src, dst, '--to', to, '--allow-mismatch'])
    # a model of the student's own constructor arguments loads it
    MODELS.build(RESNET18_W16).load_state_dict(
        exported_state(dst, to), strict=True)
    for key, value in student.state_dict().items():
        assert torch.equal(exported_state(dst, to)[key], value), key


def test_to_mmdet_refuses_a_narrow_resnet(tmp_path, load_tool):
    src = str(tmp_path / 'w16_epoch_60.pth')
    torch.save({
        'state_dict': {f'backbone.{k}': v for k, v in
                       MODELS.build(RESNET18_W16).state_dict().items()}
    }, src)
    dst = str(tmp_path / 'mmdet.pth')
    with pytest.raises(
            StockModelMismatchError,
            match=narrow_resnet_refusal(dst, 'mmdet')):
        load_tool('to_mmdet').main([src, dst])
    load_tool('to_mmdet').main([src, dst, '--allow-mismatch'])
    assert osp.isfile(dst)


@pytest.mark.slow
def test_digits_student_of_a_training_run_is_refused_for_torchvision(
        tmp_path, load_tool, digits_run):
    """tools/train.py's digits student is a ResNet-18 of width 16."""
    dst = str(tmp_path / 'digits_torchvision.pth')
    with pytest.raises(
            StockModelMismatchError,
            match=narrow_resnet_refusal(dst, 'torchvision')):
        load_tool('extract_student').main(
            [digits_run['checkpoint'], dst, '--to', 'torchvision'])
    assert not osp.exists(dst)


def test_timm_student_is_checked_against_its_configured_model(
        tmp_path, load_tool, trained_student):
    src, _ = trained_student('efficientnet_b0')
    dst = str(tmp_path / 'b1.pth')
    # the config says efficientnet_b0; efficientnet_b1 has more blocks
    with pytest.raises(
            StockModelMismatchError,
            match=r"(?s)timm.create_model\('efficientnet_b1', "
            r'pretrained=False, num_classes=0\) cannot load.*'
            r'missing: blocks\.0\.1\.conv_dw\.weight.*\(148 keys\).*'
            'not the stock efficientnet_b1'):
        load_tool('extract_student').main(
            [src, dst, '--to', 'timm', '--model-name', 'efficientnet_b1'])
    assert not osp.exists(dst)


def test_timm_student_without_config_needs_its_model_name(
        tmp_path, load_tool, trained_student):
    src, model = trained_student('efficientnet_b0')
    checkpoint = torch.load(src, weights_only=True)
    del checkpoint['meta']['cfg']
    torch.save(checkpoint, src)
    dst = str(tmp_path / 'b0.pth')
    with pytest.raises(
            StockModelMismatchError,
            match='no model.backbone.model_name in its meta cfg.*'
            '--model-name NAME'):
        load_tool('extract_student').main([src, dst, '--to', 'timm'])
    load_tool('extract_student').main(
        [src, dst, '--to', 'timm', '--model-name', 'efficientnet_b0'])
    timm.create_model(
        'efficientnet_b0', pretrained=False, num_classes=0).load_state_dict(
            torch.load(dst, weights_only=True), strict=True)


def test_extract_student_needs_a_backbone(tmp_path, load_tool):
    src = str(tmp_path / 'teacher_only.pth')
    torch.save(moco_file(encoder_tensors('module.encoder_q.')), src)
    with pytest.raises(
            CheckpointFormatError,
            match='no student backbone.*first keys: '
            'module.encoder_q.conv1.weight.*--part student'):
        load_tool('extract_student').main([src, str(tmp_path / 'out.pth')])


def test_extract_student_of_a_training_run_for_mmpretrain_linear_eval(
        tmp_path, load_tool, digits_run, digits_teacher, digits_disco_config,
        images):
    """tools/train.py's checkpoint -> mmpretrain classifier, same feature."""
    dst = str(tmp_path / 'digits_student.pth')
    load_tool('extract_student').main(
        [digits_run['checkpoint'], dst, '--to', 'mmpretrain'])
    cfg = Config.fromfile(digits_disco_config)
    cfg.model.teacher.checkpoint = digits_teacher[0]
    cfg.model.queue.length = 24
    # the classifier's memory layout, so that float rounding is the same
    cfg.model.channels_last = False
    trained = MODELS.build(cfg.model)
    trained.load_state_dict(
        torch.load(digits_run['checkpoint'])['state_dict'], strict=True)
    trained.eval()
    # as mmpretrain's linear-eval configs (benchmarks/) load a backbone
    pretrained = dict(type='Pretrained', checkpoint=dst, prefix='backbone.')
    classifier = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(cfg.model.backbone, init_cfg=pretrained),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=10,
                in_channels=cfg.model.neck.in_channels)))
    classifier.init_weights()
    classifier.eval()
    written = torch.load(dst, weights_only=True)['state_dict']
    assert written.keys() == {
        f'backbone.{key}'
        for key in trained.backbone.state_dict()
    }
    with torch.no_grad():
        torch.testing.assert_close(
            classifier.extract_feat(images)[-1],
            trained.backbone(images)[-1].mean(dim=(2, 3)))


def test_code_needing_file_is_refused_then_converted(tmp_path, load_tool,
                                                     tiny_cfg, tiny_teacher,
                                                     capsys):
    src = str(tmp_path / 'pickled.pth')
    torch.save(dict(state_dict=tiny_teacher[1], args=NotATensor()), src)
    with pytest.raises(
            TeacherCheckpointError,
            match='(?s)running code.*tools/model_converters/to_weights_only'
            r'.py .*pickled.pth COPY.pth.*Unsupported global: GLOBAL '
            'test_model_converters.NotATensor'):
        build_teacher(src, tiny_cfg['backbone'], tiny_cfg['neck'])
    copy = str(tmp_path / 'copy.pth')
    load_tool('to_weights_only').main([src, copy])
    assert "left out ['args']: NotATensor" in capsys.readouterr().out
    teacher = build_teacher(
        copy, tiny_cfg['backbone'], tiny_cfg['neck'], fold_batch_norm=False)
    for key, value in tiny_teacher[1].items():
        assert torch.equal(teacher.weights()[key], value), key


def test_pickled_module_becomes_its_state_dict(tmp_path, load_tool):
    module = torch.nn.Linear(3, 2)
    src, copy = str(tmp_path / 'model.pth'), str(tmp_path / 'copy.pth')
    torch.save(module, src)
    load_tool('to_weights_only').main([src, copy])
    state = torch.load(copy, weights_only=True)
    assert state.keys() == {'weight', 'bias'}
    assert torch.equal(state['weight'], module.weight.detach())


def test_numpy_scalars_become_python_numbers(tmp_path, load_tool):
    # np.float64 passes for a float, but pickles as a numpy object that
    # torch.load(weights_only=True) refuses without disco_mm's allowances
    src, copy = str(tmp_path / 'run.pth'), str(tmp_path / 'copy.pth')
    torch.save(
        dict(
            meta=dict(loss=np.float64(0.25), step=np.int64(3)),
            state_dict=dict(weight=torch.ones(2))), src)
    load_tool('to_weights_only').main([src, copy])
    meta = torch.load(copy, weights_only=True)['meta']
    assert meta == dict(loss=0.25, step=3)
    assert (type(meta['loss']), type(meta['step'])) == (float, int)


#: Loads each file as plain mmpretrain does (mmengine's load_checkpoint,
#: torch.load's default weights_only=True), never importing disco_mm.
PLAIN_MMPRETRAIN_LOAD = """
import sys
from mmengine.runner import load_checkpoint
from mmpretrain.models import ResNet
for path in sys.argv[1:]:
    backbone = ResNet(depth=18, stem_channels=16, base_channels=16)
    load_checkpoint(backbone, path, revise_keys=[(r'^backbone\\.', '')])
    print(path, 'loaded')
assert 'disco_mm' not in sys.modules
"""


@pytest.mark.slow
def test_plain_mmpretrain_loads_the_export_not_the_training_checkpoint(
        tmp_path, load_tool, digits_run, run_tool):
    """docs/evaluation.md: a training checkpoint of tools/train.py needs
    disco_mm to load; its export and its tensors-only copy do not."""
    checkpoint = digits_run['checkpoint']
    refused = run_tool(
        [sys.executable, '-c', PLAIN_MMPRETRAIN_LOAD, checkpoint],
        returncode=1)
    assert ('Unsupported global: GLOBAL '
            'mmengine.logging.history_buffer.HistoryBuffer') in refused
    export, copy = str(tmp_path / 'student.pth'), str(tmp_path / 'copy.pth')
    load_tool('extract_student').main([checkpoint, export])
    load_tool('to_weights_only').main([checkpoint, copy])
    loaded = run_tool([sys.executable, '-c', PLAIN_MMPRETRAIN_LOAD, export,
                       copy])
    assert f'{export} loaded' in loaded and f'{copy} loaded' in loaded
