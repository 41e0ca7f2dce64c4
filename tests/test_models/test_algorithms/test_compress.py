"""CompRess 1q / 2q as the official code: the loss by hand, both banks at
their own widths, the shipped configs at ImageNet widths, digits."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from torch import nn

from queues import shrink_queues

DIGITS_CONFIGS = {
    variant: f'compress/compress-{variant}_resnet18-w16_mocov2-r18-w32_'
    '1xb64-coslr-60e_digits.py'
    for variant in ('1q', '2q')
}
IMAGENET_CONFIGS = {
    variant: f'compress/compress-{variant}_resnet18_mocov2-r50_8xb32-'
    'steplr-130e_in1k.py'
    for variant in ('1q', '2q')
}
TAU = 0.04
# A student half as wide as the tiny teacher (32-d against 64-d pooled).
NARROW_BACKBONE = dict(
    type='ResNet',
    depth=18,
    stem_channels=4,
    base_channels=4,
    zero_init_residual=False)


def unit(vectors):
    """Divides each row by its Euclidean length."""
    return vectors / vectors.pow(2).sum(dim=1, keepdim=True).sqrt()


def log_softmax(logits):
    """log(exp(x) / sum exp(x)) per row."""
    return logits - logits.exp().sum(dim=1, keepdim=True).log()


def official_kl(student, teacher, student_bank, teacher_bank):
    """The official loss from raw features, by hand.

    ``KLD()(sims_t, sims_s)`` of the official ``nn/compress_loss.py``:
    both features divided by their length, similarities to the banks as
    they were before the step divided by 0.04, then
    ``kl_div(log_softmax(sims_s), softmax(sims_t), 'batchmean')``, i.e.
    ``sum p_t (log p_t - log p_s)`` over bank and batch, divided by N.
    """
    log_p_s = log_softmax(unit(student) @ student_bank.t() / TAU)
    log_p_t = log_softmax(unit(teacher) @ teacher_bank.t() / TAU)
    return (log_p_t.exp() * (log_p_t - log_p_s)).sum() / student.shape[0]


def raw_features(model, images):
    """The student's and the teacher's raw (unnormalised) features by hand.

    The teacher's is its pooled backbone feature; the student's its pooled
    feature, through the one linear layer of 1q.
    """
    with torch.no_grad():
        pooled = model.backbone(images)[-1].mean(dim=(2, 3))
        if model.neck is not None:
            linear = model.neck.fc
            pooled = pooled @ linear.weight.t() + linear.bias
        teacher = model.teacher.backbone(images)[-1].mean(dim=(2, 3))
    return pooled, teacher


@pytest.fixture
def build_compress(build_tiny, tiny_frozen_teacher, prepare):
    """Builds a tiny CompRess in float64 with the official structure.

    The student (32-d pooled feature) is half as wide as the teacher's
    pooled backbone feature (64-d): 2q compares each with its own bank, 1q
    maps the student with one ``Linear(32, 64)``.
    """

    def build(variant):
        neck = None if variant == '2q' else dict(
            type='LinearNeck',
            in_channels=32,
            out_channels=64,
            gap_dim=2,
            norm_cfg=None)
        return prepare(
            build_tiny(
                f'CompRess{variant}',
                backbone=NARROW_BACKBONE,
                neck=neck,
                teacher=tiny_frozen_teacher(neck=None)))

    return build


def step_by_hand(model, images):
    """The official loss and the teacher's unit features, before a step."""
    student, teacher = raw_features(model, images)
    student_bank = getattr(model, 'student_bank', model.teacher_bank)
    loss = official_kl(student, teacher,
                       student_bank.embeddings.clone(),
                       model.teacher_bank.embeddings.clone())
    return loss, unit(teacher)


@pytest.mark.parametrize('variant', ['1q', '2q'])
def test_loss_matches_official_formula(build_compress, views, variant):
    model = build_compress(variant)
    expected, _ = step_by_hand(model, views[0])
    losses = model.loss(list(views), [])
    assert set(losses) == {'loss_distill'}
    torch.testing.assert_close(
        losses['loss_distill'], expected, rtol=1e-12, atol=1e-12)


def test_1q_has_one_linear_layer_and_the_teacher_bank_only(
        build_compress, views):
    model = build_compress('1q')
    assert model.head is None
    assert [(m.in_features, m.out_features) for m in model.neck.modules()
            if isinstance(m, nn.Linear)] == [(32, 64)]
    assert {key.split('.')[0] for key in model.state_dict()} == {
        'backbone', 'neck', 'teacher_bank'}
    _, teacher = step_by_hand(model, views[0])
    model.loss(list(views), [])
    assert model.teacher_bank.pointer.tolist() == [4]
    torch.testing.assert_close(
        model.teacher_bank.embeddings[:4], teacher, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('start, end', [(0, 4), (4, 0)])
def test_2q_banks_of_own_widths_stay_aligned(build_compress, views,
                                             reference_step, start, end):
    model = build_compress('2q')
    assert model.neck is None and model.head is None
    teacher_bank, student_bank = model.teacher_bank, model.student_bank
    assert tuple(teacher_bank.embeddings.shape) == (8, 64)
    assert tuple(student_bank.embeddings.shape) == (8, 32)
    teacher_bank.pointer[0] = student_bank.pointer[0] = start
    student_bank_before = student_bank.embeddings.clone()
    _, teacher = step_by_hand(model, views[0])
    # the momentum student's pooled feature of view 1, after the update
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
        if name.startswith('backbone.'):
            assert param.grad is not None and param.grad.abs().sum() > 0
        else:
            assert param.grad is None, name


def test_1q_head_of_another_width_than_the_teacher_names_both(
        build_tiny, tiny_frozen_teacher):
    neck = dict(type='LinearNeck', in_channels=32, out_channels=48,
                gap_dim=2, norm_cfg=None)
    with pytest.raises(ValueError, match=r"teacher's embedding has 64 "
                       r".* the student's 48"):
        build_tiny('CompRess1q', backbone=NARROW_BACKBONE, neck=neck,
                   teacher=tiny_frozen_teacher(neck=None))


def test_banks_of_different_lengths_are_refused(build_tiny,
                                                tiny_frozen_teacher):
    with pytest.raises(ValueError, match=r'model.student_bank.length \(16\) '
                       r'!= model.teacher_bank.length \(8\)'):
        build_tiny(
            'CompRess2q',
            backbone=NARROW_BACKBONE,
            neck=None,
            teacher=tiny_frozen_teacher(neck=None),
            student_bank=dict(type='EmbeddingQueue', length=16))


@pytest.fixture(scope='module')
def resnet50_backbone_checkpoint(tmp_path_factory, make_teacher_checkpoint,
                                 repo_root):
    """A random MoCo-v2 ResNet-50 checkpoint, backbone only (about 94 MB)."""
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', IMAGENET_CONFIGS['2q']))
    path = tmp_path_factory.mktemp('resnet50') / 'resnet50.pth'
    make_teacher_checkpoint(
        path, backbone=cfg.model.teacher.backbone.to_dict(), neck=None)
    return str(path)


@pytest.mark.parametrize('variant', ['1q', '2q'])
def test_imagenet_config_at_its_widths_matches_official_formula(
        repo_root, resnet50_backbone_checkpoint, variant):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', IMAGENET_CONFIGS[variant]))
    cfg.model.teacher.checkpoint = resnet50_backbone_checkpoint
    shrink_queues(cfg.model, 8)  # 128,000 x 2048 would take 1 GB
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train().double()
    assert model.teacher.neck is None and model.head is None
    assert tuple(model.teacher_bank.embeddings.shape) == (8, 2048)
    if variant == '2q':
        assert model.neck is None
        assert tuple(model.student_bank.embeddings.shape) == (8, 512)
        assert model.key_encoder.momentum == 0.999
    else:
        assert [(m.in_features, m.out_features)
                for m in model.neck.modules()
                if isinstance(m, nn.Linear)] == [(512, 2048)]
        assert not [m for m in model.neck.modules()
                    if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    images = torch.randn(4, 3, 32, 32, dtype=torch.float64)
    expected, _ = step_by_hand(model, images)
    losses = model.loss([images], [])
    torch.testing.assert_close(
        losses['loss_distill'], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize('variant', ['1q', '2q'])
def test_imagenet_configs_use_the_official_data_and_schedule(
        repo_root, variant):
    cfg = Config.fromfile(
        osp.join(repo_root, 'configs', IMAGENET_CONFIGS[variant]))
    load, views, pack = cfg.train_dataloader.dataset.pipeline
    assert views.type == 'MultiView' and views.num_views == 1
    crop, flip = views.transforms[0]
    assert (crop.type, crop.scale, tuple(crop.crop_ratio_range)) == (
        'RandomResizedCrop', 224, (0.08, 1.))
    assert (flip.type, flip.prob) == ('RandomFlip', 0.5)
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.01, 0.9, 1e-4)
    # lr 0.01 is for a global batch of 256: 8 processes x 32 images
    assert cfg.train_dataloader.batch_size * 8 == 256
    assert cfg.auto_scale_lr.base_batch_size == 256
    [scheduler] = cfg.param_scheduler
    assert (scheduler.type, scheduler.milestones, scheduler.gamma) == (
        'MultiStepLR', [90, 120], 0.2)
    assert cfg.train_cfg.max_epochs == 130


@pytest.mark.parametrize('variant', ['1q', '2q'])
def test_digits_config_trains_two_steps(digits_two_steps, variant):
    model, initial, logs = digits_two_steps(DIGITS_CONFIGS[variant])
    for log in logs:
        assert set(log) == {'loss', 'loss_distill'}
        assert torch.isfinite(log['loss'])
    banks = {'teacher_bank': 256}
    if variant == '2q':
        banks['student_bank'] = 128
        assert not torch.equal(model.key_encoder.backbone.conv1.weight,
                               initial.key_encoder.backbone.conv1.weight)
    # 2 batches of 8 entered each bank of 24
    for bank, width in banks.items():
        trained, before = getattr(model, bank), getattr(initial, bank)
        assert trained.embeddings.shape[1] == width
        assert trained.pointer.tolist() == [16]
        assert torch.equal(trained.embeddings[16:], before.embeddings[16:])
        assert not torch.equal(trained.embeddings[:16],
                               before.embeddings[:16])
