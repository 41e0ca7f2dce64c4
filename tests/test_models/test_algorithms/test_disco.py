"""DisCo: both loss terms against a hand computation, and what trains."""
import pytest
import torch

# distill_loss of the tiny model: sum reduction scaled from a batch of 4 to
# sum_batch_size 8, weight 0.5.
DISTILL_SCALE = 0.5 * 8 / 4


@pytest.fixture
def disco(build_tiny, prepare):
    """A tiny DisCo whose key encoder is off the student."""
    return prepare(
        build_tiny(
            'DisCo',
            distill_loss=dict(
                type='EmbeddingDistillLoss',
                reduction='sum',
                sum_batch_size=8,
                loss_weight=0.5)))


def test_returns_both_named_losses(disco, views):
    losses = disco.loss(list(views), [])
    assert set(losses) == {'loss_contrastive', 'loss_distill'}
    for loss in losses.values():
        assert loss.dim() == 0 and torch.isfinite(loss)


def test_losses_match_hand_computation(disco, views, reference_step):
    expected = reference_step(disco, *views)
    losses = disco.loss(list(views), [])
    torch.testing.assert_close(
        losses['loss_contrastive'],
        expected['loss_contrastive'],
        rtol=1e-9,
        atol=1e-9)
    squared_error = sum(
        (expected[f'query_{view}'] - expected[f'teacher_{view}']).pow(2).sum()
        for view in (1, 2))
    torch.testing.assert_close(
        losses['loss_distill'],
        DISTILL_SCALE * squared_error,
        rtol=1e-9,
        atol=1e-9)


def test_teacher_stays_in_eval_mode_while_training(disco, views):
    disco.train()
    assert disco.backbone.training and not disco.teacher.training
    running_mean = disco.teacher.backbone.bn1.running_mean.clone()
    disco.loss(list(views), [])
    assert torch.equal(disco.teacher.backbone.bn1.running_mean, running_mean)


def test_gradients_reach_student_only(disco, views):
    losses = disco.loss(list(views), [])
    (losses['loss_contrastive'] + losses['loss_distill']).backward()
    for name, param in disco.named_parameters():
        if name.startswith(('backbone.', 'neck.')):
            assert param.grad is not None, name
        else:
            assert name.startswith(('teacher.', 'key_encoder.')), name
            assert not param.requires_grad and param.grad is None, name


@pytest.mark.parametrize('name', ['loss_contrastive', 'loss_distill'])
def test_each_term_trains_the_student(disco, views, name):
    disco.loss(list(views), [])[name].backward()
    for param in (disco.backbone.conv1.weight, disco.neck.mlp[2].weight):
        assert param.grad is not None and param.grad.abs().sum() > 0


def test_teacher_embedding_of_other_dimension_names_both(
        tmp_path, build_tiny, tiny_cfg, make_teacher_checkpoint):
    neck = dict(tiny_cfg['neck'], out_channels=6)
    path = str(tmp_path / 'teacher_6d.pth')
    make_teacher_checkpoint(path, neck=neck)
    teacher = dict(
        type='FrozenTeacher',
        backbone=tiny_cfg['backbone'],
        neck=neck,
        checkpoint=path)
    with pytest.raises(
            ValueError,
            match=r"teacher's embedding has 6 dimensions "
            r'\(model.teacher.neck.out_channels.*student\'s 4 '
            r'\(model.neck.out_channels'):
        build_tiny('DisCo', teacher=teacher)
