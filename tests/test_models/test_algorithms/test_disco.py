"""DisCo: both loss terms against a hand computation, and what trains."""
import copy
import os.path as osp

import pytest
import timm
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.optim import build_optim_wrapper
from mmengine.runner.checkpoint import load_state_dict
from mmpretrain.registry import MODELS

from disco_mm.checkpoints import CheckpointFormatError

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
    before = {
        key: value.clone()
        for key, value in disco.teacher.weights().items()
    }
    disco.loss(list(views), [])
    for key, value in disco.teacher.weights().items():
        assert torch.equal(value, before[key]), key


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


def loader_batch(seed):
    """Two views of 4 random 16x16 images as the data loader gives them."""
    generator = torch.Generator().manual_seed(seed)
    views = [
        torch.randint(0, 256, (4, 3, 16, 16), generator=generator).float()
        for _ in range(2)
    ]
    return dict(inputs=views, data_samples=[None] * 4)


def sgd_wrapper(model, accumulative_counts=1):
    return build_optim_wrapper(
        model,
        dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.1, momentum=0.9),
            accumulative_counts=accumulative_counts))


def train_by_view_and_summed(model, accumulative_counts, steps):
    """Trains ``model`` and a copy of it ``steps`` steps on the same
    batches: the model by its own ``train_step``, the copy by mmengine's,
    which backpropagates the summed loss in one graph.

    Returns:
        tuple: For each, the model after the steps and the logged losses.
    """
    summed = copy.deepcopy(model)
    results = []
    for trained, train_step in ((model, model.train_step),
                                (summed, lambda *args: BaseModel.train_step(
                                    summed, *args))):
        wrapper = sgd_wrapper(trained, accumulative_counts)
        torch.manual_seed(0)  # the same shuffle-BN order in both
        results.append((trained, [
            train_step(loader_batch(seed), wrapper) for seed in range(steps)
        ]))
    return results


def test_train_step_by_view_equals_the_step_of_the_summed_loss(build_tiny):
    (by_view, by_view_logs), (summed, summed_logs) = (
        train_by_view_and_summed(build_tiny('DisCo'), 1, steps=3))
    for by_view_log, summed_log in zip(by_view_logs, summed_logs):
        assert by_view_log.keys() == summed_log.keys()
        for name, value in by_view_log.items():
            assert torch.equal(value, summed_log[name]), name
    # Weights, BatchNorm statistics, key encoder and queue: bit for bit.
    expected = summed.state_dict()
    for name, value in by_view.state_dict().items():
        assert torch.equal(value, expected[name]), name


def test_train_step_by_view_counts_one_step_for_gradient_accumulation(
        build_tiny):
    initial = build_tiny('DisCo')
    (by_view, _), (summed, _) = train_by_view_and_summed(
        copy.deepcopy(initial), 2, steps=2)
    # One update, after step 2, as for the summed loss; the gradients of
    # the two steps add up in another order, so equal up to float rounding.
    start, expected = initial.state_dict(), summed.state_dict()
    for name, value in by_view.state_dict().items():
        torch.testing.assert_close(value, expected[name], msg=name)
    assert not torch.equal(by_view.neck.mlp[2].weight,
                           start['neck.mlp.2.weight'])


def test_train_step_frees_view_1s_pass_before_view_2s(build_tiny):
    model = build_tiny('DisCo')
    first_weight = next(model.backbone.parameters())
    calls = []
    for name in ('key_encoder', 'teacher', 'backbone'):
        getattr(model, name).register_forward_hook(
            lambda *_, name=name: calls.append(
                (name, first_weight.grad is not None)))
    model.train_step(loader_batch(0), sgd_wrapper(model))
    # Keys and teacher first; view 1's gradient is in before view 2's pass.
    assert calls == [('key_encoder', False), ('teacher', False),
                     ('teacher', False), ('backbone', False),
                     ('backbone', True)]


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


@pytest.fixture
def moco_teacher_with_queue(tmp_path, tiny_cfg, make_teacher_checkpoint):
    """A tiny teacher file with mmpretrain MoCo's queue (4 x 8, one key a
    column) written up to row 3, and that queue."""
    queue = torch.nn.functional.normalize(torch.randn(4, 8), dim=0)
    path = tmp_path / 'moco_teacher.pth'
    make_teacher_checkpoint(
        path,
        tiny_cfg['backbone'],
        tiny_cfg['neck'],
        extra=dict(queue=queue, queue_ptr=torch.tensor([3])))
    return str(path), queue


def disco_with_teacher(build_tiny, tiny_cfg, checkpoint, **overrides):
    """A tiny DisCo whose teacher is read from ``checkpoint``."""
    teacher = dict(
        type='FrozenTeacher',
        backbone=tiny_cfg['backbone'],
        neck=tiny_cfg['neck'],
        checkpoint=checkpoint)
    return build_tiny('DisCo', teacher=teacher, **overrides)


def test_queue_starts_as_the_teachers_and_returns_at_every_load(
        build_tiny, tiny_cfg, moco_teacher_with_queue, views):
    checkpoint, teacher_queue = moco_teacher_with_queue
    model = disco_with_teacher(
        build_tiny, tiny_cfg, checkpoint, queue_from_teacher=True)
    torch.testing.assert_close(model.queue.embeddings, teacher_queue.t())
    assert int(model.queue.pointer) == 3

    model.loss([view.float() for view in views], [])  # 4 keys from row 3
    trained = {
        name: value.clone()
        for name, value in model.state_dict().items()
    }
    assert int(trained['queue.pointer']) == 7
    assert not torch.allclose(trained['queue.embeddings'], teacher_queue.t())

    # As the official code, loading a checkpoint (a resume) puts the
    # teacher's queue back; every other tensor comes from the checkpoint.
    resumed = disco_with_teacher(
        build_tiny, tiny_cfg, checkpoint, queue_from_teacher=True)
    load_state_dict(resumed, trained, strict=True)
    torch.testing.assert_close(resumed.queue.embeddings, teacher_queue.t())
    assert int(resumed.queue.pointer) == 3
    torch.testing.assert_close(resumed.backbone.state_dict(),
                               model.backbone.state_dict())


def test_queue_is_the_students_own_by_default(build_tiny, tiny_cfg,
                                              moco_teacher_with_queue):
    checkpoint, teacher_queue = moco_teacher_with_queue
    model = disco_with_teacher(build_tiny, tiny_cfg, checkpoint)
    assert not torch.allclose(model.queue.embeddings, teacher_queue.t())
    assert int(model.queue.pointer) == 0


def test_queue_of_another_length_than_the_teachers_names_the_key(
        build_tiny, tiny_cfg, moco_teacher_with_queue):
    with pytest.raises(ValueError,
                       match=r'\(8, 4\).*\(16, 4\).*model.queue.length'):
        disco_with_teacher(
            build_tiny,
            tiny_cfg,
            moco_teacher_with_queue[0],
            queue=dict(type='EmbeddingQueue', length=16),
            queue_from_teacher=True)


def test_teacher_without_queue_is_refused(build_tiny, tiny_cfg, tiny_teacher):
    with pytest.raises(CheckpointFormatError,
                       match="no MoCo queue.*'module.queue'.*'queue'"):
        disco_with_teacher(
            build_tiny, tiny_cfg, tiny_teacher[0], queue_from_teacher=True)


@pytest.mark.parametrize('config, model_name, parameters', [
    ('disco_vit-tiny-p16_mocov2-r50_8xb32-adamw-coslr-200e_in1k.py',
     'vit_tiny_patch16_224', 5_524_416),
    ('disco_xcit-tiny-12-p16_mocov2-r50_8xb32-adamw-coslr-200e_in1k.py',
     'xcit_tiny_12_p16_224', 6_523_272),
])
def test_transformer_students_have_timms_model_and_the_widened_projector(
        repo_root, config, model_name, parameters):
    cfg = Config.fromfile(osp.join(repo_root, 'configs', 'disco', config))
    backbone = MODELS.build(cfg.model.backbone)
    neck = MODELS.build(cfg.model.neck)
    # timm's own count (its 5.7M / 6.7M with the 1000-class classifier)
    stock = timm.create_model(model_name, num_classes=0)
    assert parameter_count(backbone) == parameter_count(stock) == parameters
    assert [(layer.in_features, layer.out_features)
            for layer in neck.modules()
            if isinstance(layer, torch.nn.Linear)] == [(192, 2048),
                                                       (2048, 128)]
    backbone.eval()
    with torch.no_grad():
        embedding = neck(backbone(torch.randn(2, 3, 224, 224)))[0]
    assert embedding.shape == (2, 128)


def parameter_count(module):
    """Number of parameters of a module."""
    return sum(param.numel() for param in module.parameters())
