"""FrozenTeacher: loads every key or says which not, and never trains."""
import hashlib

import pytest
import torch
from mmpretrain.registry import MODELS

from disco_mm.models.teachers import TeacherCheckpointError


class NotATensor:
    """A class only this test module defines: loading it would run code."""

    def __init__(self):
        self.payload = 'runs on load'


@pytest.fixture
def teacher_cfg(tiny_cfg):
    """Returns a function giving the tiny FrozenTeacher config of a path."""

    def cfg(checkpoint, **kwargs):
        return dict(
            type='FrozenTeacher',
            backbone=tiny_cfg['backbone'],
            neck=tiny_cfg['neck'],
            checkpoint=checkpoint,
            **kwargs)

    return cfg


@pytest.fixture
def build_teacher(teacher_cfg):
    """Returns a function that builds the tiny FrozenTeacher from a path."""

    def build(checkpoint, **kwargs):
        return MODELS.build(teacher_cfg(checkpoint, **kwargs))

    return build


def assert_holds(teacher, state):
    """Asserts that every teacher parameter and buffer equals ``state``.

    Args:
        teacher (FrozenTeacher): The teacher.
        state (dict): ``backbone.*`` / ``neck.*`` tensors it should hold.
    """
    own = {
        f'{name}.{key}': value
        for name in ('backbone', 'neck')
        for key, value in getattr(teacher, name).state_dict().items()
    }
    assert own.keys() == state.keys()
    for key, value in state.items():
        assert torch.equal(own[key], value), key


def test_loads_every_weight_from_checkpoint(build_teacher, tiny_teacher):
    path, state = tiny_teacher
    assert_holds(build_teacher(path, fold_batch_norm=False), state)


def test_loads_raw_state_dict(tmp_path, build_teacher, tiny_teacher):
    state = tiny_teacher[1]
    torch.save(state, tmp_path / 'raw.pth')
    assert_holds(
        build_teacher(str(tmp_path / 'raw.pth'), fold_batch_norm=False),
        state)


def test_ignores_momentum_encoder_and_queue(tmp_path, build_teacher,
                                            make_teacher_checkpoint):
    extra = {
        'encoder_k.conv1.weight': torch.randn(8, 3, 7, 7),
        'queue': torch.randn(4, 16),
        'queue_ptr': torch.zeros(1, dtype=torch.long),
        'head.loss_module.weight': torch.ones(1),
    }
    state = make_teacher_checkpoint(tmp_path / 't.pth', extra=extra)
    assert_holds(
        build_teacher(str(tmp_path / 't.pth'), fold_batch_norm=False), state)


def test_forward_is_unit_embedding_of_eval_network(build_teacher,
                                                   tiny_teacher):
    teacher = build_teacher(tiny_teacher[0])
    images = torch.randn(3, 3, 16, 16)
    embedding = teacher(images)
    projected = teacher.neck(teacher.backbone(images))[0]
    torch.testing.assert_close(embedding,
                               projected / projected.norm(dim=1, keepdim=True))
    assert embedding.shape == (3, 4) and not embedding.requires_grad


def test_forward_without_normalisation_is_the_raw_projection(
        build_teacher, tiny_teacher):
    teacher = build_teacher(tiny_teacher[0], normalize=False)
    images = torch.randn(3, 3, 16, 16)
    projected = teacher.neck(teacher.backbone(images))[0]
    torch.testing.assert_close(teacher(images), projected)
    assert not torch.allclose(projected.norm(dim=1), torch.ones(3))


def test_all_parameters_frozen(build_teacher, tiny_teacher):
    teacher = build_teacher(tiny_teacher[0])
    assert len(list(teacher.parameters())) > 0
    assert not any(p.requires_grad for p in teacher.parameters())


@pytest.mark.parametrize('bn_train_mode', [False, True])
def test_mode_under_parent_train(build_tiny, teacher_cfg, tiny_teacher,
                                 bn_train_mode):
    disco = build_tiny(
        'DisCo',
        teacher=teacher_cfg(tiny_teacher[0], bn_train_mode=bn_train_mode))
    disco.train()
    modes = {m.training for m in disco.teacher.modules()}
    assert modes == {bn_train_mode}
    disco.eval()
    assert not any(m.training for m in disco.teacher.modules())
    disco.train()
    assert {m.training for m in disco.teacher.modules()} == {bn_train_mode}


def test_bn_train_mode_refused_for_a_teacher_without_batch_norm():
    """A ViT has no BatchNorm for ``bn_train_mode`` to keep on batch
    statistics: the build stops before reading any file, naming the key."""
    teacher = dict(
        type='FrozenTeacher',
        backbone=dict(
            type='TimmPooledBackbone',
            model_name='vit_small_patch14_dinov2',
            img_size=28),
        neck=None,
        checkpoint='never_read.pth',
        bn_train_mode=True)
    with pytest.raises(ValueError) as error:
        MODELS.build(teacher)
    message = str(error.value)
    assert 'TimmPooledBackbone vit_small_patch14_dinov2) has none' in message
    assert 'Set model.teacher.bn_train_mode=False' in message


# mmengine applies an init_cfg of the algorithm to all of its submodules,
# the teacher's included; Pretrained loads a whole training checkpoint.
@pytest.mark.parametrize('init', ['none', 'kaiming', 'pretrained'])
def test_parent_init_weights_keeps_teacher(tmp_path, build_tiny, build_teacher,
                                           tiny_teacher, init):
    init_cfg = None
    if init == 'kaiming':
        init_cfg = dict(type='Kaiming', layer=['Conv2d', 'Linear'])
    elif init == 'pretrained':
        checkpoint = str(tmp_path / 'student.pth')
        torch.save({'state_dict': build_tiny('DisCo').state_dict()},
                   checkpoint)
        init_cfg = dict(type='Pretrained', checkpoint=checkpoint)
    disco = build_tiny('DisCo', init_cfg=init_cfg)  # calls init_weights
    assert_holds(disco.teacher, build_teacher(tiny_teacher[0]).weights())


def test_missing_keys_are_listed(tmp_path, build_teacher, tiny_teacher):
    state = dict(tiny_teacher[1])
    del state['neck.mlp.2.bias'], state['backbone.layer1.0.bn1.running_var']
    torch.save({'state_dict': state}, tmp_path / 'partial.pth')
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(str(tmp_path / 'partial.pth'))
    message = str(error.value)
    assert '2 keys missing' in message
    assert 'neck.mlp.2.bias' in message
    assert 'backbone.layer1.0.bn1.running_var' in message
    assert str(tmp_path / 'partial.pth') in message


def test_long_missing_list_is_summarised(tmp_path, build_teacher,
                                         tiny_teacher):
    state = tiny_teacher[1]
    neck_only = {k: v for k, v in state.items() if k.startswith('neck.')}
    missing = len(state) - len(neck_only)
    torch.save({'state_dict': neck_only}, tmp_path / 'neck_only.pth')
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(str(tmp_path / 'neck_only.pth'))
    message = str(error.value)
    assert f'{missing} keys missing' in message
    assert f'... and {missing - 20} more' in message
    assert 'backbone.conv1.weight' in message


def test_shape_mismatch_names_key_and_shapes(tmp_path, build_teacher,
                                             tiny_teacher):
    state = dict(tiny_teacher[1])
    state['neck.mlp.2.weight'] = torch.randn(5, 16)
    torch.save({'state_dict': state}, tmp_path / 'wide.pth')
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(str(tmp_path / 'wide.pth'))
    assert ('neck.mlp.2.weight: checkpoint (5, 16), teacher (4, 16)'
            in str(error.value))


@pytest.mark.parametrize('checkpoint', [None, ''])
def test_no_checkpoint_raises(build_teacher, checkpoint):
    with pytest.raises(
            TeacherCheckpointError, match='model.teacher.checkpoint'):
        build_teacher(checkpoint)


def test_nonexistent_checkpoint_raises(tmp_path, build_teacher):
    path = str(tmp_path / 'absent.pth')
    with pytest.raises(FileNotFoundError, match=path):
        build_teacher(path)


def test_directory_is_named_as_a_directory(tmp_path, build_teacher):
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(str(tmp_path))
    assert f'Teacher checkpoint {tmp_path} is a directory' in str(error.value)
    assert 'does not exist' not in str(error.value)


@pytest.mark.parametrize('kept_bytes', [0, 100, 'half'])
def test_truncated_file_is_named_truncated(tmp_path, build_teacher,
                                           tiny_teacher, kept_bytes):
    data = open(tiny_teacher[0], 'rb').read()
    kept = len(data) // 2 if kept_bytes == 'half' else kept_bytes
    path = tmp_path / 'cut.pth'
    path.write_bytes(data[:kept])
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(str(path))
    assert (f'Teacher file model.teacher.checkpoint={path} ({kept} bytes) '
            'cannot be read: it is truncated or damaged') in str(error.value)


def test_non_finite_teacher_is_named_not_the_learning_rate(
        tmp_path, build_teacher, tiny_teacher):
    state = {
        key: torch.full_like(value, float('nan'))
        if value.is_floating_point() else value
        for key, value in tiny_teacher[1].items()
    }
    state['neck.mlp.0.weight'] = tiny_teacher[1]['neck.mlp.0.weight']
    path = tmp_path / 'nan_teacher.pth'
    torch.save({'state_dict': state}, path)
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(str(path))
    message = str(error.value)
    floating = [key for key, value in state.items()
                if value.is_floating_point()]
    assert message.startswith(
        f'Teacher checkpoint {path} holds NaN or infinite weights in '
        f'{len(floating) - 1} of the teacher\'s {len(state)} tensors:')
    assert 'backbone.conv1.weight' in message
    assert 'neck.mlp.0.weight' not in message
    assert 'learning rate' not in message


def test_identity_is_the_sha256_of_the_file(build_teacher, tiny_teacher):
    path = tiny_teacher[0]
    assert build_teacher(path).identity() == dict(
        checkpoint=path,
        checkpoint_sha256=hashlib.sha256(open(path, 'rb').read()).hexdigest())


def test_pickled_object_is_refused(tmp_path, build_teacher, tiny_teacher):
    checkpoint = dict(state_dict=tiny_teacher[1], extra=NotATensor())
    torch.save(checkpoint, tmp_path / 'code.pth')
    with pytest.raises(TeacherCheckpointError, match='running code'):
        build_teacher(str(tmp_path / 'code.pth'))


def test_teacher_not_in_parent_state_dict(build_tiny):
    state = build_tiny('DisCo').state_dict()
    assert not [key for key in state if key.startswith('teacher.')]
    assert {'backbone.conv1.weight', 'queue.embeddings'} <= set(state)


@pytest.mark.parametrize('with_stale_teacher', [False, True])
def test_parent_load_state_dict_keeps_teacher(tmp_path, build_tiny,
                                              build_teacher, teacher_cfg,
                                              tiny_teacher,
                                              make_teacher_checkpoint,
                                              with_stale_teacher):
    """A training state dict loads strictly; the teacher stays as loaded."""
    trained = build_tiny('DisCo')
    with torch.no_grad():
        trained.backbone.conv1.weight.add_(1.0)
    state = trained.state_dict()
    if with_stale_teacher:  # e.g. a checkpoint of another code base
        state.update({
            f'teacher.{key}': torch.zeros_like(value)
            for key, value in tiny_teacher[1].items()
        })
    other_path = tmp_path / 'other_teacher.pth'
    other_state = make_teacher_checkpoint(other_path)
    assert not torch.equal(other_state['neck.mlp.2.weight'],
                           tiny_teacher[1]['neck.mlp.2.weight'])
    resumed = build_tiny('DisCo', teacher=teacher_cfg(str(other_path)))
    resumed.load_state_dict(state, strict=True)
    assert torch.equal(resumed.backbone.conv1.weight,
                       trained.backbone.conv1.weight)
    assert torch.equal(resumed.queue.embeddings, trained.queue.embeddings)
    assert_holds(resumed.teacher, build_teacher(str(other_path)).weights())


def test_checkpoint_of_other_architecture_is_refused(tiny_cfg, tiny_teacher):
    # a ResNet-18 checkpoint for a teacher configured as a ResNet-50
    with pytest.raises(TeacherCheckpointError) as error:
        MODELS.build(
            dict(
                type='FrozenTeacher',
                backbone=dict(tiny_cfg['backbone'], depth=50),
                neck=dict(tiny_cfg['neck'], in_channels=256),
                checkpoint=tiny_teacher[0]))
    message = str(error.value)
    assert 'keys missing:\n  backbone.layer1.0.conv3.weight' in message
    assert ('keys of another shape:\n  backbone.layer1.0.conv1.weight: '
            'checkpoint (8, 8, 3, 3), teacher (8, 8, 1, 1)') in message
    assert 'Check that model.teacher.backbone and model.teacher.neck' in (
        message)
