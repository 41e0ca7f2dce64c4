"""CompRess 1q / 2q: the loss by hand, both memory banks, digits."""
import pytest
import torch

DIGITS_CONFIG = ('compress/'
                 'compress-2q_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_'
                 'digits.py')
TAU = 0.04


def log_softmax(logits):
    """log(exp(x) / sum exp(x)) per row."""
    return logits - logits.exp().sum(dim=1, keepdim=True).log()


@pytest.fixture
def build_compress(build_tiny, tiny_frozen_teacher, prepare):
    """Builds a tiny CompRess in float64 with the paper's default loss."""

    def build(variant):
        momentum = 0.9 if variant == '2q' else None
        model = build_tiny(
            'CompRess',
            variant=variant,
            teacher=tiny_frozen_teacher(),
            head=None,
            momentum=momentum)
        return prepare(model) if momentum else model.double()

    return build


@pytest.fixture
def hand_kl(embeddings_by_hand):
    """Returns a function computing KL(p_t || p_s) by hand before a step.

    The function takes the model, the view both networks see and the name
    of the bank of the student's similarities; it returns the loss, with
    p = softmax(cos(z, bank) / 0.04), and the teacher's unit embeddings.
    """
    return lambda model, images, student_bank: kl_by_hand(
        *embeddings_by_hand(model, images), model.queue.clone(),
        getattr(model, student_bank).clone())


def kl_by_hand(student, teacher, teacher_bank, student_bank):
    """KL(softmax(t.B_t / tau) || softmax(s.B_s / tau)), batch mean."""
    log_p_s = log_softmax(student @ student_bank.t() / TAU)
    log_p_t = log_softmax(teacher @ teacher_bank.t() / TAU)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1).mean()
    return kl, teacher


@pytest.mark.parametrize('variant, student_bank', [('1q', 'queue'),
                                                   ('2q', 'student_queue')])
def test_loss_matches_hand_computation(build_compress, views, hand_kl,
                                       variant, student_bank):
    model = build_compress(variant)
    expected, _ = hand_kl(model, views[0], student_bank)
    losses = model.loss(list(views), [])
    assert set(losses) == {'loss_distill'}
    torch.testing.assert_close(
        losses['loss_distill'], expected, rtol=1e-9, atol=1e-9)


def test_1q_has_one_bank_and_no_momentum_encoder(build_compress, views,
                                                 hand_kl):
    model = build_compress('1q')
    assert model.key_encoder is None and model.head is None
    assert not hasattr(model, 'student_queue')
    _, teacher = hand_kl(model, views[0], 'queue')
    model.loss(list(views), [])
    assert model.queue_ptr.tolist() == [4]
    torch.testing.assert_close(model.queue[:4], teacher)


@pytest.mark.parametrize('start, end', [(0, 4), (4, 0)])
def test_2q_banks_stay_aligned(build_compress, views, reference_step, hand_kl,
                               start, end):
    model = build_compress('2q')
    model.queue_ptr[0] = model.student_queue_ptr[0] = start
    student_bank_before = model.student_queue.clone()
    _, teacher = hand_kl(model, views[0], 'student_queue')
    # the momentum student's key of view 1, after the momentum update
    momentum_key = reference_step(model, views[1], views[0])['key']
    model.loss(list(views), [])
    assert model.queue_ptr.tolist() == model.student_queue_ptr.tolist() == [
        end
    ]
    rows = slice(start, start + 4)
    torch.testing.assert_close(model.queue[rows], teacher)
    torch.testing.assert_close(
        model.student_queue[rows], momentum_key, rtol=1e-9, atol=1e-9)
    untouched = [row for row in range(8) if not start <= row < start + 4]
    assert torch.equal(model.student_queue[untouched],
                       student_bank_before[untouched])


def test_gradients_reach_student_only(build_compress, views):
    model = build_compress('2q')
    model.loss(list(views), [])['loss_distill'].backward()
    for name, param in model.named_parameters():
        if name.startswith(('backbone.', 'neck.')):
            assert param.grad is not None and param.grad.abs().sum() > 0
        else:
            assert param.grad is None, name


@pytest.mark.parametrize('variant, momentum, message', [
    ('1q', 0.999, r'CompRess-1q got model.momentum=0.999.*momentum=None'),
    ('2q', None, r'CompRess-2q got model.momentum=None.*needs a momentum'),
    ('3q', None, r"model.variant must be '1q' or '2q', got '3q'"),
])
def test_variant_and_momentum_mismatch_names_the_fix(
        build_tiny, tiny_frozen_teacher, variant, momentum, message):
    with pytest.raises(ValueError, match=message):
        build_tiny(
            'CompRess',
            variant=variant,
            teacher=tiny_frozen_teacher(),
            head=None,
            momentum=momentum)


def test_digits_config_trains_two_steps(digits_two_steps):
    model, initial, logs = digits_two_steps(DIGITS_CONFIG)
    for log in logs:
        assert set(log) == {'loss', 'loss_distill'}
        assert torch.isfinite(log['loss'])
    # 2 batches of 8 entered both banks of 24
    for bank in ('queue', 'student_queue'):
        assert getattr(model, f'{bank}_ptr').tolist() == [16]
        assert torch.equal(
            getattr(model, bank)[16:],
            getattr(initial, bank)[16:])
        assert not torch.equal(
            getattr(model, bank)[:16],
            getattr(initial, bank)[:16])
    assert not torch.equal(model.key_encoder[0].conv1.weight,
                           initial.key_encoder[0].conv1.weight)
