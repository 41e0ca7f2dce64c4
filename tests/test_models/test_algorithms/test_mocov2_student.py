"""MoCoV2Student: the contrastive loss alone, against a hand computation."""
import pytest
import torch


@pytest.fixture
def mocov2(build_tiny, prepare):
    """A tiny MoCoV2Student whose key encoder is off the student."""
    return prepare(build_tiny('MoCoV2Student'))


def test_builds_without_teacher(mocov2):
    assert mocov2.teacher is None


def test_loss_is_contrastive_term_by_hand(mocov2, views, reference_step):
    expected = reference_step(mocov2, *views)
    losses = mocov2.loss(list(views), [])
    assert list(losses) == ['loss_contrastive']
    torch.testing.assert_close(
        losses['loss_contrastive'],
        expected['loss_contrastive'],
        rtol=1e-9,
        atol=1e-9)


def test_loss_moves_every_student_parameter(mocov2, views):
    mocov2.loss(list(views), [])['loss_contrastive'].backward()
    for name, param in mocov2.named_parameters():
        if name.startswith(('backbone.', 'neck.')):
            assert param.grad is not None, name
        else:
            assert name.startswith('key_encoder.'), name
            assert param.grad is None, name
    assert mocov2.neck.mlp[2].weight.grad.abs().sum() > 0
