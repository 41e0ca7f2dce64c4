"""BINGO: both loss terms against a hand computation, the warm-up, CutMix."""
import copy

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from disco_mm.models.algorithms import bingo as bingo_module

TEMPERATURE = 0.2


def hand_info_nce(query, key, queue):
    """-log(exp(q.k/T) / (exp(q.k/T) + sum_j exp(q.queue_j/T))), batch mean."""
    positive = torch.exp(torch.einsum('nd,nd->n', query, key) / TEMPERATURE)
    negatives = torch.exp(query @ queue.t() / TEMPERATURE).sum(dim=1)
    return (-torch.log(positive / (positive + negatives))).mean()


def length_one(vectors):
    return vectors / vectors.norm(dim=1, keepdim=True)


def left_half_mix(images, patches, alpha):
    """A fixed CutMix: the left half of the width from ``patches``."""
    mixed = images.clone()
    mixed[..., :images.shape[-1] // 2] = patches[..., :images.shape[-1] // 2]
    return mixed, 0.5


@pytest.fixture
def epoch():
    """Sets the epoch the model reads from the message hub; resets it."""
    hub = MessageHub.get_current_instance()

    def set_epoch(value):
        hub.update_info('epoch', value)

    yield set_epoch
    hub.update_info('epoch', 0)


@pytest.fixture
def model(build_tiny, tiny_cfg, tiny_teacher):
    teacher = dict(
        type='FrozenTeacher',
        backbone=tiny_cfg['backbone'],
        neck=tiny_cfg['neck'],
        checkpoint=tiny_teacher[0])
    return build_tiny(
        'BINGO',
        teacher=teacher,
        head=tiny_cfg['head'],
        bag_weights=(0.7, 0.3),
        own_key_only_epochs=2).double()


@pytest.fixture
def four_views():
    return [torch.randn(4, 3, 16, 16, dtype=torch.float64) for _ in range(4)]


def hand_losses(model, views, w_own, w_other):
    """BINGO's two terms for the left-half mix, from the model's modules."""
    model = copy.deepcopy(model)
    anchor_q, anchor_k, neighbour_q, neighbour_k = views
    mixed = anchor_q.clone()
    mixed[..., :8] = neighbour_q[..., :8]
    with torch.no_grad():
        s_a, s_n, s_m = (
            length_one(model.neck(model.backbone(images))[0])
            for images in (anchor_q, neighbour_q, mixed))
        t_a, t_n = (
            length_one(model.teacher.neck(model.teacher.backbone(images))[0])
            for images in (anchor_k, neighbour_k))
    queue = model.queue.embeddings

    def c(query, key):
        return hand_info_nce(query, key, queue)

    loss_bag = (w_own * c(s_a, t_a) + w_other * c(s_a, t_n) +
                w_own * c(s_n, t_n) + w_other * c(s_n, t_a)) / 3
    loss_mix = (0.5 * c(s_m, t_a) + 0.5 * c(s_m, t_n)) / 3
    return dict(loss_bag=loss_bag, loss_mix=loss_mix, teacher_anchor=t_a)


@pytest.mark.parametrize('current_epoch, weights', [(0, (1.0, 0.0)),
                                                    (1, (1.0, 0.0)),
                                                    (2, (0.7, 0.3))])
def test_losses_match_hand_computation(model, four_views, epoch,
                                       monkeypatch, current_epoch, weights):
    monkeypatch.setattr(bingo_module, 'cutmix', left_half_mix)
    epoch(current_epoch)
    expected = hand_losses(model, four_views, *weights)
    losses = model.loss(four_views, [])
    assert set(losses) == {'loss_bag', 'loss_mix'}
    for name in ('loss_bag', 'loss_mix'):
        torch.testing.assert_close(
            losses[name], expected[name], rtol=1e-9, atol=1e-9)
    # The teacher's keys of the anchors entered the queue.
    torch.testing.assert_close(model.queue.embeddings[:4],
                               expected['teacher_anchor'])
    assert int(model.queue.pointer) == 4


def test_keys_come_from_the_teacher_not_a_momentum_copy(model):
    assert not hasattr(model, 'key_encoder')
    assert {key.split('.')[0] for key in model.state_dict()} == {
        'backbone', 'neck', 'queue'}


def test_gradients_reach_student_only(model, four_views):
    losses = model.loss(four_views, [])
    (losses['loss_bag'] + losses['loss_mix']).backward()
    for name, param in model.named_parameters():
        if name.startswith(('backbone.', 'neck.')):
            assert param.grad is not None and param.grad.abs().sum() > 0, name
        else:
            assert not param.requires_grad and param.grad is None, name


def test_two_views_name_the_dataset_wrapper(model, four_views):
    with pytest.raises(ValueError, match='NeighbourBagDataset'):
        model.loss(four_views[:2], [])


def test_bag_weights_need_two_values(build_tiny, tiny_cfg, tiny_teacher):
    teacher = dict(
        type='FrozenTeacher',
        backbone=tiny_cfg['backbone'],
        neck=tiny_cfg['neck'],
        checkpoint=tiny_teacher[0])
    with pytest.raises(ValueError, match=r'model.bag_weights is \(w_own'):
        build_tiny('BINGO', teacher=teacher, head=tiny_cfg['head'],
                   bag_weights=(1.0, ))


def test_cutmix_pastes_one_box_and_reports_the_share_left():
    np.random.seed(3)
    images, patches = torch.zeros(2, 3, 20, 20), torch.ones(2, 3, 20, 20)
    for _ in range(20):
        mixed, lam = bingo_module.cutmix(images, patches, alpha=1.0)
        from_patches = mixed[0, 0]
        assert torch.equal(mixed[0], mixed[1])
        assert lam == pytest.approx(1 - from_patches.mean().item())
        rows, cols = torch.nonzero(from_patches, as_tuple=True)
        if len(rows):
            box = from_patches[rows.min():rows.max() + 1,
                               cols.min():cols.max() + 1]
            assert bool(box.all())
    assert torch.equal(images, torch.zeros(2, 3, 20, 20))
