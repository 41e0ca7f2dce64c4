"""SimReg: the regression by hand, its prediction head, a digits run whose
exported student holds the backbone alone."""
import pytest
import torch
from torch import nn

from disco_mm.checkpoints import export_student

DIGITS_CONFIG = (
    'simreg/simreg_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py')


@pytest.fixture
def build_simreg(build_tiny, tiny_frozen_teacher):
    """Builds a tiny SimReg regressing the teacher's pooled 64-d feature."""

    def build(out_channels=64):
        return build_tiny(
            'SimReg',
            teacher=tiny_frozen_teacher(neck=None),
            neck=dict(
                type='PredictionMLPNeck',
                in_channels=64,
                hid_channels=16,
                out_channels=out_channels))

    return build


def test_loss_matches_hand_computation(build_simreg, views,
                                       embeddings_by_hand):
    model = build_simreg().double()
    prediction, target = embeddings_by_hand(model, views[0])
    expected = (2 - 2 * (prediction * target).sum(dim=1)).mean()
    losses = model.loss(list(views), [])
    assert set(losses) == {'loss_distill'}
    torch.testing.assert_close(
        losses['loss_distill'], expected, rtol=1e-9, atol=1e-9)


def test_prediction_head_is_papers_four_layers(build_simreg):
    head = build_simreg(out_channels=64).neck
    linears = [m for m in head.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features)
            for m in linears] == [(64, 16), (16, 64), (64, 16), (16, 64)]
    layers = [type(m).__name__ for m in head.mlp.modules()
              if not isinstance(m, nn.Sequential)]
    assert layers == ['Linear', 'BatchNorm1d', 'ReLU', 'Linear'] * 2


def test_keeps_no_queue_key_encoder_or_teacher(build_simreg, views):
    model = build_simreg().double()
    assert not hasattr(model, 'key_encoder') and not hasattr(model, 'queue')
    assert {key.split('.')[0]
            for key in model.state_dict()} == {'backbone', 'neck'}
    model.loss(list(views), [])['loss_distill'].backward()
    assert model.neck.mlp[0][0].weight.grad.abs().sum() > 0
    assert model.backbone.conv1.weight.grad.abs().sum() > 0


def test_head_not_predicting_teacher_width_names_fields(build_simreg):
    with pytest.raises(
            ValueError,
            match=r"teacher's embedding has 64 dimensions .* student's 32"):
        build_simreg(out_channels=32)


def test_digits_run_exports_backbone_without_head(digits_two_steps,
                                                  tmp_path):
    model, initial, logs = digits_two_steps(DIGITS_CONFIG)
    for log in logs:
        assert set(log) == {'loss', 'loss_distill'}
        assert torch.isfinite(log['loss'])
    assert not torch.equal(model.neck.mlp[1][3].weight,
                           initial.neck.mlp[1][3].weight)
    checkpoint = str(tmp_path / 'epoch_1.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    backbone = model.backbone.state_dict()
    mmpretrain = export_student(checkpoint, str(tmp_path / 'mm.pth'),
                                'mmpretrain')
    assert mmpretrain.keys() == {f'backbone.{key}' for key in backbone}
    # the digits student (width 16) is no stock torchvision ResNet-18
    torchvision = export_student(
        checkpoint, str(tmp_path / 'tv.pth'),
        'torchvision',
        allow_mismatch=True)
    assert torchvision.keys() == backbone.keys()
    for key, value in backbone.items():
        assert torch.equal(torchvision[key], value), key
