"""What every momentum student shares: key encoder, queue, checks."""
import pytest
import torch

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
    model.queue_ptr[0] = start
    queue_before = model.queue.clone()
    expected = reference_step(model, *views)
    model.loss(list(views), [])
    assert model.queue_ptr.tolist() == [end]
    torch.testing.assert_close(
        model.queue[start:start + 4], expected['key'], rtol=1e-9, atol=1e-9)
    untouched = [row for row in range(8) if not start <= row < start + 4]
    assert torch.equal(model.queue[untouched], queue_before[untouched])


def test_queue_len_not_multiple_of_batch_raises(model):
    three_images = torch.randn(3, 3, 16, 16, dtype=torch.float64)
    with pytest.raises(ValueError, match=r'queue_len \(8\).*batch \(3\)'):
        model.loss([three_images, three_images.clone()], [])


@pytest.mark.parametrize('momentum', [1.0, -0.1, 1.5])
@pytest.mark.parametrize('algorithm', ALGORITHMS)
def test_momentum_outside_unit_interval_raises(build_tiny, algorithm,
                                               momentum):
    with pytest.raises(ValueError, match=f'in \\[0, 1\\), got {momentum}'):
        build_tiny(algorithm, momentum=momentum)


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


@pytest.mark.parametrize('field, value, match', [
    ('feat_dim', 0, 'model.feat_dim, the embedding dimension, must be at '
     'least 1, got 0'),
    ('queue_len', -8, r'model.queue_len must be 0 \(no queue\) or positive, '
     'got -8'),
])
def test_degenerate_feat_dim_or_queue_len_is_refused(build_tiny, field, value,
                                                     match):
    with pytest.raises(ValueError, match=match):
        build_tiny('MoCoV2Student', **{field: value})


def test_feat_dim_other_than_projector_output_names_both(build_tiny):
    with pytest.raises(
            ValueError,
            match=r'model.feat_dim \(8\) .* model.neck.out_channels \(4\)'):
        build_tiny('MoCoV2Student', feat_dim=8)


def test_contrastive_method_without_head_names_the_field(build_tiny, views):
    model = build_tiny('MoCoV2Student', head=None).double()
    with pytest.raises(RuntimeError, match='no contrastive head: set '
                       'model.head'):
        model.loss(list(views), [])


def test_without_momentum_there_is_no_key_encoder(build_tiny, views):
    model = build_tiny('MoCoV2Student', momentum=None).double()
    assert model.key_encoder is None
    assert not any(key.startswith('key_encoder.')
                   for key in model.state_dict())
    with pytest.raises(RuntimeError, match=r'without a key encoder '
                       r'\(model.momentum=None\); set model.momentum'):
        model.loss(list(views), [])


def test_without_queue_len_there_is_no_queue(build_tiny):
    model = build_tiny('MoCoV2Student', queue_len=0)
    assert not hasattr(model, 'queue') and not hasattr(model, 'queue_ptr')
