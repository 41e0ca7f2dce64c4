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
        model = build_tiny(f'CompRess{variant}', teacher=tiny_frozen_teacher())
        return prepare(model)

    return build


@pytest.fixture
def hand_kl(embeddings_by_hand):
    """Returns a function computing KL(p_t || p_s) by hand before a step.

    The function takes the model, the view both networks see and the name
    of the bank of the student's similarities; it returns the loss, with
    p = softmax(cos(z, bank) / 0.04), and the teacher's unit embeddings.
    """
    return lambda model, images, student_bank: kl_by_hand(
        *embeddings_by_hand(model, images),
        model.teacher_bank.embeddings.clone(),
        getattr(model, student_bank).embeddings.clone())


def kl_by_hand(student, teacher, teacher_bank, student_bank):
    """KL(softmax(t.B_t / tau) || softmax(s.B_s / tau)), batch mean."""
    log_p_s = log_softmax(student @ student_bank.t() / TAU)
    log_p_t = log_softmax(teacher @ teacher_bank.t() / TAU)
    kl = (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=1).mean()
    return kl, teacher


@pytest.mark.parametrize('variant, student_bank', [('1q', 'teacher_bank'),
                                                   ('2q', 'student_bank')])
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
    assert model.head is None
    assert {key.split('.')[0] for key in model.state_dict()} == {
        'backbone', 'neck', 'teacher_bank'}
    _, teacher = hand_kl(model, views[0], 'teacher_bank')
    model.loss(list(views), [])
    assert model.teacher_bank.pointer.tolist() == [4]
    torch.testing.assert_close(model.teacher_bank.embeddings[:4], teacher)


@pytest.mark.parametrize('start, end', [(0, 4), (4, 0)])
def test_2q_banks_stay_aligned(build_compress, views, reference_step, hand_kl,
                               start, end):
    model = build_compress('2q')
    teacher_bank, student_bank = model.teacher_bank, model.student_bank
    teacher_bank.pointer[0] = student_bank.pointer[0] = start
    student_bank_before = student_bank.embeddings.clone()
    _, teacher = hand_kl(model, views[0], 'student_bank')
    # the momentum student's key of view 1, after the momentum update
    momentum_key = reference_step(model, views[1], views[0])['key']
    model.loss(list(views), [])
    assert teacher_bank.pointer.tolist() == student_bank.pointer.tolist() == [
        end
    ]
    rows = slice(start, start + 4)
    torch.testing.assert_close(teacher_bank.embeddings[rows], teacher)
    torch.testing.assert_close(
        student_bank.embeddings[rows], momentum_key, rtol=1e-9, atol=1e-9)
    untouched = [row for row in range(8) if not start <= row < start + 4]
    assert torch.equal(student_bank.embeddings[untouched],
                       student_bank_before[untouched])


def test_gradients_reach_student_only(build_compress, views):
    model = build_compress('2q')
    model.loss(list(views), [])['loss_distill'].backward()
    for name, param in model.named_parameters():
        if name.startswith(('backbone.', 'neck.')):
            assert param.grad is not None and param.grad.abs().sum() > 0
        else:
            assert param.grad is None, name


def test_banks_of_different_lengths_are_refused(build_tiny,
                                                tiny_frozen_teacher):
    with pytest.raises(ValueError, match=r'model.student_bank.length \(16\) '
                       r'!= model.teacher_bank.length \(8\)'):
        build_tiny(
            'CompRess2q',
            teacher=tiny_frozen_teacher(),
            student_bank=dict(type='EmbeddingQueue', length=16))


def test_digits_config_trains_two_steps(digits_two_steps):
    model, initial, logs = digits_two_steps(DIGITS_CONFIG)
    for log in logs:
        assert set(log) == {'loss', 'loss_distill'}
        assert torch.isfinite(log['loss'])
    # 2 batches of 8 entered both banks of 24
    for bank in ('teacher_bank', 'student_bank'):
        trained, before = getattr(model, bank), getattr(initial, bank)
        assert trained.pointer.tolist() == [16]
        assert torch.equal(trained.embeddings[16:], before.embeddings[16:])
        assert not torch.equal(trained.embeddings[:16],
                               before.embeddings[:16])
    assert not torch.equal(model.key_encoder.backbone.conv1.weight,
                           initial.key_encoder.backbone.conv1.weight)
