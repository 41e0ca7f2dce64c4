"""The base and its components: key encoder, queue, checks, old names."""
import copy

import pytest
import torch
from mmengine.runner.checkpoint import load_state_dict

ALGORITHMS = ['MoCoV2Student', 'DisCo']


def student_params(model):
    """The student's parameters in key-encoder order (backbone, neck)."""
    return [*model.backbone.parameters(), *model.neck.parameters()]


@pytest.fixture(params=ALGORITHMS)
def model(request, build_tiny, prepare):
    """A tiny MoCoV2Student or DisCo whose key encoder is off the student."""
    return prepare(build_tiny(request.param))


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_init_weights_starts_key_encoder_as_student_copy(
        build_tiny, prepare, algorithm):
    model = prepare(build_tiny(algorithm))
    model.init_weights()  # again, now that the key encoder differs
    for key_param, query_param in zip(model.key_encoder.parameters(),
                                      student_params(model)):
        assert torch.equal(key_param, query_param)
        assert not key_param.requires_grad


def test_key_encoder_follows_momentum_rule(model, views):
    key_before = [p.detach().clone() for p in model.key_encoder.parameters()]
    query_before = [p.detach().clone() for p in student_params(model)]
    model.loss(list(views), [])
    for key_after, key, query in zip(model.key_encoder.parameters(),
                                     key_before, query_before):
        torch.testing.assert_close(key_after, 0.9 * key + 0.1 * query)


@pytest.mark.parametrize('start, end', [(0, 4), (4, 0)])
def test_keys_enqueued_at_pointer(model, views, reference_step, start, end):
    queue = model.queue
    queue.pointer[0] = start
    queue_before = queue.embeddings.clone()
    expected = reference_step(model, *views)
    model.loss(list(views), [])
    assert queue.pointer.tolist() == [end]
    torch.testing.assert_close(
        queue.embeddings[start:start + 4],
        expected['key'],
        rtol=1e-9,
        atol=1e-9)
    untouched = [row for row in range(8) if not start <= row < start + 4]
    assert torch.equal(queue.embeddings[untouched], queue_before[untouched])


def test_queue_len_not_multiple_of_batch_raises(model):
    three_images = torch.randn(3, 3, 16, 16, dtype=torch.float64)
    with pytest.raises(ValueError,
                       match=r'queue length \(8\).*global batch \(3\)'):
        model.loss([three_images, three_images.clone()], [])


@pytest.mark.parametrize('momentum', [1.0, -0.1, 1.5, 0.4])
@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_momentum_outside_its_range_raises(build_tiny, algorithm, momentum):
    with pytest.raises(ValueError,
                       match=f'in \\[0.5, 1\\); got {momentum}'):
        build_tiny(
            algorithm,
            key_encoder=dict(type='MomentumEncoder', momentum=momentum))


def test_mmpretrain_style_momentum_is_refused_naming_the_convention(
        build_tiny):
    # mmpretrain's MoCo momentum=0.001 is the weight of the new value
    with pytest.raises(ValueError) as error:
        build_tiny(
            'MoCoV2Student',
            key_encoder=dict(type='MomentumEncoder', momentum=0.001))
    message = str(error.value)
    assert 'model.key_encoder.momentum' in message
    assert "mmpretrain counts the other way" in message
    assert 'write 0.999' in message


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_projector_not_taking_backbone_width_names_the_field(
        build_tiny, tiny_cfg, algorithm):
    neck = dict(tiny_cfg['neck'], in_channels=512)
    with pytest.raises(
            ValueError,
            match=r'model.neck.in_channels \(512\) does not match .* 64 '
            r'channels .* set model.neck.in_channels=64'):
        build_tiny(algorithm, neck=neck)


def test_width_of_backbone_without_known_width_is_measured(
        build_tiny, tiny_cfg):
    # mmpretrain's MobileNetV2 has neither feat_dim nor num_features
    backbone = dict(type='MobileNetV2', widen_factor=0.25)
    neck = dict(tiny_cfg['neck'], in_channels=64)
    with pytest.raises(ValueError, match='set model.neck.in_channels=1280'):
        build_tiny('MoCoV2Student', backbone=backbone, neck=neck)


@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_projector_of_width_0_is_refused(build_tiny, tiny_cfg, algorithm):
    # with hid_channels=0 the embedding is the last layer's bias: the same
    # for every image, with no gradient to the backbone
    neck = dict(tiny_cfg['neck'], hid_channels=0)
    with pytest.raises(ValueError) as error:
        build_tiny(algorithm, neck=neck)
    message = str(error.value)
    assert message.startswith('model.neck has linear layers of width 0:')
    assert '(64 -> 0)' in message and '(0 -> 4)' in message
    assert 'model.neck.hid_channels' in message


def test_empty_queue_is_refused(build_tiny):
    with pytest.raises(ValueError, match='must be positive, got 0'):
        build_tiny('MoCoV2Student', queue=dict(type='EmbeddingQueue',
                                               length=0))


def test_queue_takes_the_projector_output_width(build_tiny, tiny_cfg):
    neck = dict(tiny_cfg['neck'], out_channels=6)
    model = build_tiny('MoCoV2Student', neck=neck)
    assert tuple(model.queue.embeddings.shape) == (8, 6)


def test_contrastive_method_without_head_names_the_field(build_tiny):
    with pytest.raises(ValueError, match='needs a contrastive head: set '
                       'model.head'):
        build_tiny('MoCoV2Student', head=None)


def test_key_encoder_copies_the_channels_last_student(build_tiny):
    model = build_tiny('MoCoV2Student')
    weight = model.key_encoder.backbone.conv1.weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert weight is not model.backbone.conv1.weight


def old_layout(state_dict):
    """The state dict as checkpoints held it before the components.

    The queue was the buffers ``queue`` and ``queue_ptr``, the key encoder
    an ``nn.Sequential(backbone, neck)`` at ``key_encoder.0/1``.
    """
    renames = [('queue.embeddings', 'queue'), ('queue.pointer', 'queue_ptr'),
               ('key_encoder.backbone.', 'key_encoder.0.'),
               ('key_encoder.neck.', 'key_encoder.1.')]
    old = {}
    for key, value in state_dict.items():
        for new, before in renames:
            if key.startswith(new):
                key = before + key[len(new):]
                break
        old[key] = value
    return old


@pytest.mark.parametrize('loader', ['torch', 'mmengine'])
@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_checkpoint_of_the_old_layout_loads(build_tiny, views, algorithm,
                                            loader):
    model = build_tiny(algorithm).double()
    model.loss(list(views), [])  # the queue pointer and key encoder move
    saved = copy.deepcopy(model.state_dict())
    old = old_layout(saved)
    assert {'queue', 'queue_ptr', 'key_encoder.0.conv1.weight',
            'key_encoder.1.mlp.0.weight'} <= set(old)
    fresh = build_tiny(algorithm).double()
    if loader == 'torch':
        fresh.load_state_dict(old, strict=True)
    else:  # as mmengine's load_checkpoint and --resume do
        load_state_dict(fresh, old, strict=True)
    assert set(fresh.state_dict()) == set(saved)
    for key, value in fresh.state_dict().items():
        assert torch.equal(value, saved[key]), key
