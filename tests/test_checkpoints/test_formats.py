"""Teachers from every checkpoint format compute the original embedding.

Each test writes a checkpoint with the key names and shapes of its code
base (random weights, tiny widths; see tests/checkpoint_layouts.py), loads
it into a FrozenTeacher and compares the teacher's embedding with the
original layout's model computed from the same tensors.
"""

import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision
from mmpretrain.registry import MODELS

from checkpoint_layouts import (TINY_R50, build_teacher, encoder_tensors,
                                moco_file, original_embedding, random_tensors,
                                resnet_feature, resnet_layout, tiny_neck)
from disco_mm.models.teachers import TeacherCheckpointError


@pytest.fixture
def images():
    """Four random 32x32 images."""
    return torch.randn(4, 3, 32, 32)


@pytest.fixture
def save(tmp_path):
    """Returns a function that saves an object and returns the path."""

    def save_as(name, checkpoint):
        path = str(tmp_path / name)
        torch.save(checkpoint, path)
        return path

    return save_as


def with_momentum_copies(encoders, dim=4, queue_len=8):
    """Adds momentum copies (``_q`` -> ``_k``) and MoCo's queue."""
    state = dict(encoders)
    for key, value in encoders.items():
        state[key.replace('_q.', '_k.')] = value + 1
    state['module.queue'] = torch.randn(dim, queue_len)
    state['module.queue_ptr'] = torch.zeros(1, dtype=torch.long)
    return state


def teacher_log(messages):
    """The one message about a teacher checkpoint among ``messages``."""
    (message, ) = [m for m in messages if m.startswith('Teacher checkpoint')]
    return message


@pytest.mark.parametrize('depth,constructor', [
    (18, torchvision.models.resnet18),
    (50, torchvision.models.resnet50),
])
def test_reference_layout_is_torchvision_resnet(depth, constructor):
    with torch.device('meta'):
        state = constructor().state_dict()
    expected = {
        key: tuple(value.shape)
        for key, value in state.items() if not key.startswith('fc.')
    }
    assert resnet_layout(depth, 64, 64) == expected


def test_swav_resnet50w2_is_a_wide_mmpretrain_resnet():
    """SwAV's RN50w2: stem and every stage twice as wide, 4096-d feature."""
    backbone = MODELS.build(
        dict(type='ResNet', depth=50, stem_channels=128, base_channels=128))
    shapes = {
        key: tuple(value.shape)
        for key, value in backbone.state_dict().items()
    }
    assert shapes == resnet_layout(50, 128, 128)
    assert shapes['layer4.2.conv3.weight'] == (4096, 1024, 1, 1)


def test_moco_checkpoint(save, images):
    encoder = encoder_tensors('module.encoder_q.', depth=50)
    path = save('moco_v2_800ep_pretrain.pth.tar',
                moco_file(with_momentum_copies(encoder)))
    teacher = build_teacher(path, TINY_R50, tiny_neck('mlp'))
    torch.testing.assert_close(
        teacher(images),
        original_embedding(encoder, 'module.encoder_q.', 'fc.', images))


def test_teacher_load_logs_format_file_and_tensor_counts(
        save, tiny_cfg, logged):
    encoder = encoder_tensors('module.encoder_q.')
    path = save('moco_r18.pth.tar', moco_file(with_momentum_copies(encoder)))
    teacher = build_teacher(
        path, tiny_cfg['backbone'], tiny_cfg['neck'], fold_batch_norm=False)
    loaded = len(teacher.weights())
    # the query encoder is the teacher; its momentum copy and the queue
    # (and its pointer) are not
    assert loaded == len(encoder)
    in_file = 2 * len(encoder) + 2
    assert teacher_log(logged) == (
        f"Teacher checkpoint {path}: format 'moco' (detected from its keys: "
        'facebookresearch/moco: module.encoder_q.*, projector at fc.0 / '
        f"fc.2); {loaded} tensors loaded of the teacher's {loaded}, "
        f'{in_file - loaded} of the {in_file} in the file ignored.')


def test_teacher_load_log_counts_a_dropped_projector(save, tiny_cfg, logged):
    state = encoder_tensors('')
    path = save('resnet18.pth', state)
    teacher = build_teacher(
        path,
        tiny_cfg['backbone'],
        format='torchvision',
        fold_batch_norm=False)
    backbone = len(teacher.weights())
    # the 4 tensors of the MLP at fc.0 / fc.2 are ignored without a neck
    assert backbone == len(state) - 4
    assert teacher_log(logged) == (
        f"Teacher checkpoint {path}: format 'torchvision' (as named: "
        'torchvision (or timm) ResNet state dict: conv1.*, layer1.*, ..., '
        f"fc.*); {backbone} tensors loaded of the teacher's {backbone}, 4 of "
        f'the {len(state)} in the file ignored.')


# SwAV's ResNet-50w2 is ResNet-50 with stem and stages twice as wide: here
# width 8 stands for 64 and 16 for 128.
@pytest.mark.parametrize('width', [8, 16], ids=['r50', 'r50w2'])
def test_swav_checkpoint(save, images, width):
    feature = 32 * width
    state = encoder_tensors(
        'module.',
        depth=50,
        width=width,
        projector=('projection_head.', 'bn_mlp', 16, 4))
    state['module.prototypes.weight'] = torch.randn(10, 4)
    path = save('swav_pretrain.pth.tar', state)
    teacher = build_teacher(
        path, dict(TINY_R50, stem_channels=width, base_channels=width),
        tiny_neck('bn_mlp', feature))
    torch.testing.assert_close(
        teacher(images),
        original_embedding(
            state, 'module.', 'projection_head.', images, swav_stem=True))


@pytest.mark.parametrize('teacher_kind', ['moco', 'swav'])
def test_disco_official_checkpoint_gives_its_teacher(save, images,
                                                     teacher_kind):
    projector = ('fc.', 'mlp', 16,
                 4) if teacher_kind == 'moco' else ('projection_head.',
                                                    'bn_mlp', 16, 4)
    encoders = {
        **encoder_tensors(
            'module.encoder_q.', projector=('fc.', 'mlp', 32, 4)),
        **encoder_tensors(
            'module.teacher_encoder_q.', depth=50, projector=projector)
    }
    path = save('ResNet50-ResNet18-checkpoint_0199.pth.tar',
                moco_file(with_momentum_copies(encoders)))
    teacher = build_teacher(path, TINY_R50, tiny_neck(projector[1]))
    torch.testing.assert_close(
        teacher(images),
        original_embedding(
            encoders,
            'module.teacher_encoder_q.',
            projector[0],
            images,
            swav_stem=teacher_kind == 'swav'))


@pytest.mark.parametrize('wrapped', [False, True])
def test_torchvision_backbone_without_projector(save, images, tiny_cfg,
                                                wrapped):
    """neck=None distils the pooled, L2-normalised backbone feature."""
    state = encoder_tensors('', projector=('fc.', 'mlp', 16, 10))
    del state['fc.0.weight'], state['fc.0.bias']  # a plain classifier fc.2
    path = save('resnet18.pth', dict(state_dict=state) if wrapped else state)
    teacher = build_teacher(path, tiny_cfg['backbone'])
    assert teacher.neck is None
    assert all(key.startswith('backbone.') for key in teacher.weights())
    torch.testing.assert_close(
        teacher(images), F.normalize(resnet_feature(state, '', images)))


@pytest.mark.parametrize('projector_prefix', ['neck.mlp.', 'mlp.'])
def test_torchvision_backbone_with_separate_projector(save, images, tiny_cfg,
                                                      projector_prefix):
    state = encoder_tensors('')
    backbone_path = save('resnet18.pth', {
        key: value
        for key, value in state.items() if not key.startswith('fc.')
    })
    projector_path = save(
        'projector.pth', {
            projector_prefix + key[len('fc.'):]: value
            for key, value in state.items() if key.startswith('fc.')
        })
    teacher = build_teacher(
        backbone_path,
        tiny_cfg['backbone'],
        tiny_cfg['neck'],
        projector_checkpoint=projector_path)
    torch.testing.assert_close(
        teacher(images), original_embedding(state, '', 'fc.', images))


def test_projector_checkpoint_replaces_the_checkpoints_own(
        save, images, tiny_cfg, tiny_teacher):
    projector = random_tensors({
        key[len('neck.'):]: tuple(value.shape)
        for key, value in tiny_teacher[1].items() if key.startswith('neck.')
    })
    teacher = build_teacher(
        tiny_teacher[0],
        tiny_cfg['backbone'],
        tiny_cfg['neck'],
        projector_checkpoint=save('projector.pth', projector),
        fold_batch_norm=False)
    for key, value in projector.items():
        assert torch.equal(teacher.neck.state_dict()[key], value)
    assert torch.equal(teacher.backbone.conv1.weight,
                       tiny_teacher[1]['backbone.conv1.weight'])


def test_timm_state_dict_is_read_when_named(save, images):
    original = timm.create_model('test_efficientnet').eval()
    path = save('test_efficientnet.pth', original.state_dict())
    backbone = dict(type='TimmPooledBackbone', model_name='test_efficientnet')
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(path, backbone)
    message = str(error.value)
    assert 'keys of no format' in message
    for name in ('mmpretrain', 'moco', 'swav', 'disco_official',
                 'torchvision'):
        assert f'\n  {name}: ' in message
    assert 'First keys: conv_stem.weight, bn1.weight' in message
    assert "format='timm'" in message

    teacher = build_teacher(path, backbone, format='timm')
    with torch.no_grad():
        expected = original.forward_head(
            original.forward_features(images), pre_logits=True)
    torch.testing.assert_close(teacher(images), F.normalize(expected))


def test_ambiguous_layout_names_the_formats(save, tiny_cfg, tiny_teacher):
    mixed = {**tiny_teacher[1], **encoder_tensors('module.encoder_q.')}
    path = save('mixed.pth', dict(state_dict=mixed))
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(path, tiny_cfg['backbone'], tiny_cfg['neck'])
    message = str(error.value)
    assert 'keys of several formats (mmpretrain, moco)' in message
    assert 'First keys: backbone.conv1.weight' in message


def test_unrecognised_layout_names_formats_and_keys(save, tiny_cfg):
    byol = encoder_tensors('online_network.encoder.')
    path = save('byol.pth', {f'module.{k}': v for k, v in byol.items()})
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(path, tiny_cfg['backbone'], tiny_cfg['neck'])
    message = str(error.value)
    assert 'Formats tried:' in message and '\n  swav: ' in message
    assert 'First keys: module.online_network.encoder.conv1.weight' in message


def test_named_format_of_another_layout_is_refused(save, tiny_cfg):
    path = save('resnet18.pth', encoder_tensors(''))
    with pytest.raises(
            TeacherCheckpointError,
            match="no weights of format 'moco'.*conv1.weight"):
        build_teacher(path, tiny_cfg['backbone'], format='moco')


def test_unknown_format_name_lists_the_known(save, tiny_cfg, tiny_teacher):
    with pytest.raises(
            TeacherCheckpointError,
            match="Unknown checkpoint format 'simclr'.*'swav'"):
        build_teacher(tiny_teacher[0], tiny_cfg['backbone'], format='simclr')


def test_missing_keys_error_names_the_format_read(save, tiny_cfg):
    state = encoder_tensors('module.encoder_q.')
    del state['module.encoder_q.fc.2.bias']
    path = save('moco.pth.tar', moco_file(state))
    with pytest.raises(TeacherCheckpointError) as error:
        build_teacher(path, tiny_cfg['backbone'], tiny_cfg['neck'])
    message = str(error.value)
    assert "read as 'moco' (model.teacher.format='auto')" in message
    assert '1 keys missing:\n  neck.mlp.2.bias' in message


def test_missing_projector_file_is_named(tmp_path, tiny_cfg, tiny_teacher):
    absent = str(tmp_path / 'absent_projector.pth')
    with pytest.raises(
            FileNotFoundError,
            match=f'projector_checkpoint {absent} does not exist'):
        build_teacher(
            tiny_teacher[0],
            tiny_cfg['backbone'],
            tiny_cfg['neck'],
            projector_checkpoint=absent)
