"""StudentExportHook: the student in its library's format, loaded back."""
from types import SimpleNamespace

import io
import logging

import pytest
import timm
import torch
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger
from mmpretrain.registry import MODELS
from torch import nn

from disco_mm.engine.hooks import StudentExportHook

STOCK_RESNET18 = dict(type='ResNet', depth=18)
NARROW_RESNET18 = dict(
    type='ResNet',
    depth=18,
    stem_channels=16,
    base_channels=16,
    init_cfg=dict(type='Pretrained', checkpoint='elsewhere.pth'))


class Student(nn.Module):
    """A trained model: a student backbone and a projector."""

    def __init__(self, backbone: dict):
        super().__init__()
        self.backbone = MODELS.build(backbone)
        self.neck = nn.Linear(2, 2)
        for parameter in self.backbone.parameters():
            parameter.data.normal_()


def runner_of(model, backbone, work_dir, epoch=0):
    """A stand-in for the Runner of a training of ``model``."""
    return SimpleNamespace(
        model=model,
        cfg=ConfigDict(model=dict(type='DisCo', backbone=backbone)),
        work_dir=str(work_dir),
        epoch=epoch)


@pytest.fixture
def logged(request):
    """Returns a function giving the lines the hook logged, with levels."""
    # the current logger of this test, with one more handler
    logger = MMLogger.get_instance(f'student_export_{request.node.name}')
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter('%(levelname)s - %(message)s'))
    logger.addHandler(handler)
    return lambda: stream.getvalue().splitlines()


def load_line(logged):
    """The Python line the hook logged to load its file."""
    (message, ) = [line for line in logged() if 'exported for' in line]
    return message.split('load it with: ')[1]


def assert_same_weights(model, student):
    expected = {
        key[len('backbone.'):]: value
        for key, value in student.state_dict().items()
        if key.startswith('backbone.')
    }
    loaded = model.state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[key], expected[key]) for key in expected)


def test_stock_resnet_goes_to_timm(tmp_path, logged):
    student = Student(STOCK_RESNET18)
    runner = runner_of(student, STOCK_RESNET18, tmp_path, epoch=3)
    StudentExportHook().after_train(runner)
    path = tmp_path / 'student_epoch_3_timm.pth'
    model = timm.create_model('resnet18', pretrained=False, num_classes=0)
    model.load_state_dict(torch.load(path), strict=True)
    assert_same_weights(model, student)
    assert load_line(logged) == (
        "import timm, torch; model = timm.create_model('resnet18', "
        f"num_classes=0); model.load_state_dict(torch.load('{path}'))")


def test_narrow_resnet_goes_to_mmpretrain_and_its_line_loads_it(
        tmp_path, logged):
    student = Student(NARROW_RESNET18)
    runner = runner_of(student, NARROW_RESNET18, tmp_path, epoch=2)
    StudentExportHook().after_train(runner)
    assert [path.name for path in tmp_path.iterdir()
            ] == ['student_epoch_2_mmpretrain.pth']
    scope = {}
    # the line as logged builds the student without its init_cfg and
    # loads the file strictly
    exec(load_line(logged), scope)
    assert_same_weights(scope['model'], student)


def test_interval_and_end_export_each_epoch_once(tmp_path, logged):
    student = Student(NARROW_RESNET18)
    hook = StudentExportHook(interval=2)
    runner = runner_of(student, NARROW_RESNET18, tmp_path)
    for runner.epoch in range(4):  # 0-based while the epoch's hooks run
        hook.after_train_epoch(runner)
    runner.epoch = 4
    hook.after_train(runner)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        'student_epoch_2_mmpretrain.pth', 'student_epoch_4_mmpretrain.pth'
    ]


def test_student_without_backbone_is_skipped_in_one_line(tmp_path, logged):
    runner = runner_of(nn.Linear(2, 2), None, tmp_path, epoch=1)
    StudentExportHook().after_train(runner)
    assert list(tmp_path.iterdir()) == []
    (warning, ) = [line for line in logged() if 'WARNING' in line]
    assert warning.startswith('WARNING - Student export skipped: timm: ')
    assert 'no backbone.* key' in warning


@pytest.mark.parametrize('arguments, key', [(dict(interval=0), 'interval'),
                                            (dict(to='onnx'), 'to')])
def test_bad_arguments_name_the_config_key(arguments, key):
    with pytest.raises(ValueError,
                       match=f'default_hooks.student_export.{key}'):
        StudentExportHook(**arguments)
