"""SEED: its loss against a hand computation, the teacher queue, digits."""
import pytest
import torch

DIGITS_CONFIG = ('seed/'
                 'seed_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py')


@pytest.fixture
def seed(build_tiny, tiny_frozen_teacher):
    """A tiny SEED in float64 (queue of 8, 4-d embeddings)."""
    return build_tiny(
        'SEED',
        teacher=tiny_frozen_teacher(),
        distill_loss=dict(
            type='SimilarityDistillLoss',
            student_temperature=0.2,
            teacher_temperature=0.07)).double()


@pytest.fixture
def hand_seed_loss(embeddings_by_hand):
    """Returns a function computing SEED's loss by hand before a step."""
    return lambda model, images: seed_loss(
        *embeddings_by_hand(model, images), model.queue.embeddings.clone())


def seed_loss(student, teacher, queue, tau_s=0.2, tau_t=0.07):
    """-sum p_t log p_s over [own teacher key; queue].

    Returns:
        tuple: The loss and the teacher's unit embeddings.
    """
    student_logits = torch.cat(
        [(student * teacher).sum(1, keepdim=True), student @ queue.t()],
        dim=1) / tau_s
    teacher_logits = torch.cat(
        [(teacher * teacher).sum(1, keepdim=True), teacher @ queue.t()],
        dim=1) / tau_t
    p_t = teacher_logits.exp() / teacher_logits.exp().sum(1, keepdim=True)
    log_p_s = student_logits - student_logits.exp().sum(1, keepdim=True).log()
    return -(p_t * log_p_s).sum(dim=1).mean(), teacher


def test_has_no_head_key_encoder_or_contrastive_term(seed, views):
    assert seed.head is None and not hasattr(seed, 'key_encoder')
    losses = seed.loss(list(views), [])
    assert set(losses) == {'loss_distill'}


def test_default_temperatures_are_the_official_code(build_tiny,
                                                    tiny_frozen_teacher):
    model = build_tiny(
        'SEED', teacher=tiny_frozen_teacher())
    assert model.distill_loss.student_temperature == 0.2
    assert model.distill_loss.teacher_temperature == 1e-4
    assert model.distill_loss.divergence == 'cross_entropy'


def test_loss_matches_hand_computation(seed, views, hand_seed_loss):
    expected, _ = hand_seed_loss(seed, views[0])
    losses = seed.loss(list(views), [])
    torch.testing.assert_close(
        losses['loss_distill'], expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize('start, end', [(0, 4), (4, 0)])
def test_teacher_embeddings_enter_queue(seed, views, hand_seed_loss, start,
                                        end):
    seed.queue.pointer[0] = start
    queue_before = seed.queue.embeddings.clone()
    _, teacher = hand_seed_loss(seed, views[0])
    seed.loss(list(views), [])
    assert seed.queue.pointer.tolist() == [end]
    torch.testing.assert_close(seed.queue.embeddings[start:start + 4],
                               teacher)
    untouched = [row for row in range(8) if not start <= row < start + 4]
    assert torch.equal(seed.queue.embeddings[untouched],
                       queue_before[untouched])


def test_gradients_reach_student_only(seed, views):
    seed.loss(list(views), [])['loss_distill'].backward()
    for name, param in seed.named_parameters():
        if name.startswith(('backbone.', 'neck.')):
            assert param.grad is not None and param.grad.abs().sum() > 0
        else:
            assert name.startswith('teacher.') and param.grad is None, name


def test_digits_config_trains_two_steps(digits_two_steps):
    model, initial, logs = digits_two_steps(DIGITS_CONFIG)
    for log in logs:
        assert set(log) == {'loss', 'loss_distill'}
        assert torch.isfinite(log['loss'])
    # 2 batches of 8 teacher embeddings entered the queue of 24
    assert model.queue.pointer.tolist() == [16]
    queue, initial_queue = model.queue.embeddings, initial.queue.embeddings
    assert torch.equal(queue[16:], initial_queue[16:])
    assert not torch.isclose(queue[:16], initial_queue[:16]).all(1).any()
    torch.testing.assert_close(
        queue[:16].norm(dim=1), torch.ones(16))
    assert not torch.equal(model.backbone.conv1.weight,
                           initial.backbone.conv1.weight)
    for key, value in model.teacher.weights().items():
        assert torch.equal(value, initial.teacher.weights()[key]), key
