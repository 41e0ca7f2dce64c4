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


def test_official_teacher_keys_use_batch_statistics(build_tiny, tiny_cfg,
                                                    tiny_teacher, four_views,
                                                    monkeypatch):
    """With ``bn_train_mode`` the keys and losses are those of a teacher
    normalising each key batch with its own statistics, and its running
    statistics move as torch's BatchNorm moves them in the official code."""
    monkeypatch.setattr(bingo_module, 'cutmix', left_half_mix)
    teacher = dict(
        type='FrozenTeacher',
        backbone=tiny_cfg['backbone'],
        neck=tiny_cfg['neck'],
        checkpoint=tiny_teacher[0],
        bn_train_mode=True)
    model = build_tiny('BINGO', teacher=teacher, head=tiny_cfg['head'],
                       own_key_only_epochs=0).double()
    assert model.teacher.training
    expected = hand_losses(model, four_views, 0.5, 0.5)
    stem_bn = model.teacher.backbone.norm1
    running_mean = stem_bn.running_mean.clone()
    batch_means = [
        model.teacher.backbone.conv1(images).mean(dim=(0, 2, 3)).detach()
        for images in (four_views[1], four_views[3])
    ]
    eval_keys = copy.deepcopy(model.teacher).eval()(four_views[1])
    losses = model.loss(four_views, [])
    for name in ('loss_bag', 'loss_mix'):
        torch.testing.assert_close(
            losses[name], expected[name], rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(model.queue.embeddings[:4], expected['teacher_anchor'])
    assert not torch.allclose(expected['teacher_anchor'], eval_keys)
    # Two key batches (anchors, then neighbours), momentum 0.1 each.
    for batch_mean in batch_means:
        running_mean = 0.9 * running_mean + 0.1 * batch_mean
    torch.testing.assert_close(stem_bn.running_mean, running_mean)


def official_bingo_loss(s_a, s_n, s_m, t_a, t_n, queue, temperature, lam,
                        mix_lam, epoch):
    """The official step's loss, written as its code writes it.

    ``logits_q_nk``: for each query, a 2 x (1 + K) block of logits (its
    similarity to the anchor's and to the neighbour's key, each followed by
    the K queued negatives) over the temperature; ``MulposCrossEntropy``
    weights the two rows' cross-entropies by ``lam`` (the own key's weight
    ``lam[0]`` only after epoch 10) and the mixed query by the CutMix
    share; the three terms are summed and divided by 3.
    """
    keys = torch.stack([t_a, t_n], dim=1)  # N x 2 x D

    def logits_q_nk(query):
        positives = torch.einsum('nmc,nc->nm', keys, query)[..., None]
        negatives = (query @ queue.t())[:, None, :].repeat(1, 2, 1)
        return torch.cat([positives, negatives], dim=2) / temperature

    def cross_entropy(logits):  # target 0, batch mean
        return (torch.logsumexp(logits, dim=1) - logits[:, 0]).mean()

    def mulpos(logits, weights):
        return sum(weight * cross_entropy(logits[:, row])
                   for row, weight in enumerate(weights))

    loss = 0
    for out_idx, query in enumerate((s_a, s_n)):
        own, other = (lam[0], lam[1]) if epoch > 10 else (1, 0)
        weights = [own, other] if out_idx == 0 else [other, own]
        loss = loss + mulpos(logits_q_nk(query), weights)
    loss = loss + mulpos(logits_q_nk(s_m), [mix_lam, 1 - mix_lam])
    return loss / 3


@pytest.mark.parametrize('current_epoch', [10, 11])
def test_official_shapes_match_the_official_formula(
        build_tiny, tiny_cfg, tmp_path, make_teacher_checkpoint, epoch,
        monkeypatch, current_epoch):
    """32 images a process, 128 dimensions, a queue of 65,536, the official
    teacher (BatchNorm on each key batch) and the ImageNet config's BINGO
    settings, against the official loss in float64."""
    monkeypatch.setattr(bingo_module, 'cutmix', left_half_mix)
    epoch(current_epoch)
    neck = dict(tiny_cfg['neck'], hid_channels=2048, out_channels=128)
    checkpoint = str(tmp_path / 'teacher_128.pth')
    make_teacher_checkpoint(checkpoint, tiny_cfg['backbone'], neck)
    teacher = dict(
        type='FrozenTeacher',
        backbone=tiny_cfg['backbone'],
        neck=neck,
        checkpoint=checkpoint,
        bn_train_mode=True)
    model = build_tiny(
        'BINGO', teacher=teacher, head=tiny_cfg['head'], neck=neck,
        queue=dict(type='EmbeddingQueue', length=65536),
        bag_weights=(0.5, 0.5),
        own_key_only_epochs=11).double()
    views = [torch.randn(32, 3, 16, 16, dtype=torch.float64)
             for _ in range(4)]
    anchor_q, anchor_k, neighbour_q, neighbour_k = views
    mixed = anchor_q.clone()
    mixed[..., :8] = neighbour_q[..., :8]
    reference = copy.deepcopy(model)
    with torch.no_grad():
        s_a, s_n, s_m = (
            length_one(reference.neck(reference.backbone(images))[0])
            for images in (anchor_q, neighbour_q, mixed))
        t_a, t_n = (
            length_one(reference.teacher.neck(
                reference.teacher.backbone(images))[0])
            for images in (anchor_k, neighbour_k))
    expected = official_bingo_loss(s_a, s_n, s_m, t_a, t_n, reference.queue.embeddings,
                                   TEMPERATURE, (0.5, 0.5), 0.5,
                                   current_epoch)

    losses = model.loss(views, [])

    torch.testing.assert_close(
        losses['loss_bag'] + losses['loss_mix'], expected, rtol=1e-9,
        atol=1e-9)
    torch.testing.assert_close(model.queue.embeddings[:32], t_a)


def test_cutmix_box_follows_the_official_beta_2_2(model, four_views,
                                                  monkeypatch):
    alphas = []

    def recording_mix(images, patches, alpha):
        alphas.append(alpha)
        return left_half_mix(images, patches, alpha)

    monkeypatch.setattr(bingo_module, 'cutmix', recording_mix)
    model.loss(four_views, [])
    assert alphas == [2.0]


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
