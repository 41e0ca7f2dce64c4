"""DisCo's distillation on mmpretrain's BYOL / SimSiam / SwAV / MoCo-v3, by
hand."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.models.selfsup import BYOL
from mmpretrain.registry import MODELS

from repo_paths import REPO_ROOT

# sum reduction scaled from a batch of 4 to sum_batch_size 8, weight 0.5.
DISTILL_SCALE = 0.5 * 8 / 4


def tiny_byol(backbone):
    """A BYOL student on the tiny backbone (64-d), giving 4 dimensions."""
    return dict(
        type='BYOL',
        base_momentum=0.01,
        backbone=backbone,
        neck=dict(
            type='NonLinearNeck',
            in_channels=64,
            hid_channels=16,
            out_channels=4,
            num_layers=2,
            with_last_bn=False,
            with_avg_pool=True),
        head=dict(
            type='LatentPredictHead',
            predictor=dict(
                type='NonLinearNeck',
                in_channels=4,
                hid_channels=16,
                out_channels=4,
                num_layers=2,
                with_last_bn=False,
                with_avg_pool=False),
            loss=dict(type='CosineSimilarityLoss')))


@pytest.fixture
def build(tiny_cfg, tiny_teacher):
    """Builds a DistilledSelfSup of the tiny teacher; kwargs override."""

    def build_model(**overrides):
        cfg = dict(
            type='DistilledSelfSup',
            student=tiny_byol(tiny_cfg['backbone']),
            teacher=dict(
                type='FrozenTeacher',
                backbone=tiny_cfg['backbone'],
                neck=tiny_cfg['neck'],
                checkpoint=tiny_teacher[0]),
            distill_loss=dict(
                type='EmbeddingDistillLoss',
                reduction='sum',
                sum_batch_size=8,
                loss_weight=0.5))
        cfg.update(overrides)
        model = MODELS.build(cfg)
        model.init_weights()
        return model.train().double()

    return build_model


def length_one(vectors):
    return vectors / vectors.norm(dim=1, keepdim=True)


@pytest.mark.parametrize('distill_from', ['projector', 'predictor'])
def test_losses_match_hand_computation(build, views, distill_from):
    model = build(distill_from=distill_from)
    reference = copy.deepcopy(model)
    losses = model.loss(list(views), [])
    assert set(losses) == {'loss_student', 'loss_distill'}

    # The student's own loss, from an untouched copy of the same student.
    student_loss = copy.deepcopy(reference).student.loss(list(views), [])
    torch.testing.assert_close(losses['loss_student'], student_loss['loss'])
    squared_error = 0
    with torch.no_grad():
        for view in views:
            embedding = reference.neck(reference.backbone(view))[0]
            if distill_from == 'predictor':
                embedding = reference.head.predictor([embedding])[0]
            teacher = reference.teacher.neck(
                reference.teacher.backbone(view))[0]
            squared_error += (length_one(embedding) -
                              length_one(teacher)).pow(2).sum()
    torch.testing.assert_close(
        losses['loss_distill'],
        DISTILL_SCALE * squared_error,
        rtol=1e-9,
        atol=1e-9)


def tiny_mocov3(backbone):
    """mmpretrain's MoCo-v3 (no queue) on the tiny backbone, 4 dimensions."""
    return dict(
        type='MoCoV3',
        base_momentum=0.01,
        backbone=backbone,
        neck=dict(
            type='NonLinearNeck',
            in_channels=64,
            hid_channels=16,
            out_channels=4,
            num_layers=3,
            with_bias=False,
            with_last_bn=True,
            with_last_bn_affine=False,
            with_last_bias=False,
            with_avg_pool=True),
        head=dict(
            type='MoCoV3Head',
            predictor=dict(
                type='NonLinearNeck',
                in_channels=4,
                hid_channels=16,
                out_channels=4,
                num_layers=2,
                with_bias=False,
                with_last_bn=True,
                with_last_bn_affine=False,
                with_last_bias=False,
                with_avg_pool=False),
            loss=dict(type='CrossEntropyLoss', loss_weight=0.4),
            temperature=0.2))


def test_mocov3_student_distils_its_projector_output(build, tiny_cfg,
                                                     views):
    """MoCo-v3 keeps its momentum encoder in a submodule: it is adopted,
    and both views' projections are distilled."""
    model = build(student=tiny_mocov3(tiny_cfg['backbone']))
    assert {key.split('.')[0]
            for key in model.state_dict()} == {
                'backbone', 'neck', 'head', 'momentum_encoder'
            }
    reference = copy.deepcopy(model)
    losses = model.loss(list(views), [])
    student_loss = copy.deepcopy(reference).student.loss(list(views), [])
    torch.testing.assert_close(losses['loss_student'], student_loss['loss'])
    squared_error = 0
    with torch.no_grad():
        for view in views:
            embedding = reference.neck(reference.backbone(view))[0]
            teacher = reference.teacher.neck(
                reference.teacher.backbone(view))[0]
            squared_error += (length_one(embedding) -
                              length_one(teacher)).pow(2).sum()
    torch.testing.assert_close(
        losses['loss_distill'],
        DISTILL_SCALE * squared_error,
        rtol=1e-9,
        atol=1e-9)


def test_student_modules_keep_their_checkpoint_names(build):
    model = build()
    keys = set(model.state_dict())
    assert 'backbone.conv1.weight' in keys
    # Each module once, under the student's own names; no teacher.
    assert {key.split('.')[0] for key in keys} == {
        'backbone', 'neck', 'head', 'target_net'
    }
    assert model.backbone is model.student.backbone


def test_gradients_reach_student_only(build, views):
    model = build()
    model.loss(list(views), [])['loss_distill'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    for name, param in model.named_parameters():
        if name.startswith(('teacher.', 'target_net.')):
            assert param.grad is None, name


def test_embedding_of_other_width_names_the_field(build, tiny_cfg):
    student = tiny_byol(tiny_cfg['backbone'])
    student['neck']['out_channels'] = 6
    student['head']['predictor']['in_channels'] = 6
    with pytest.raises(
            ValueError,
            match=r'model.student.neck\) gives 6 dimensions and the '
            r'teacher\'s embedding 4'):
        build(student=student)


@MODELS.register_module(force=True)
class FirstViewOnlyBYOL(BYOL):
    """A BYOL whose loss projects view 1 only: one projector call."""

    def loss(self, inputs, data_samples, **kwargs):
        projection = self.neck(self.backbone(inputs[0]))[0]
        return dict(loss=projection.pow(2).mean())


def test_one_projector_call_for_two_views_is_refused(build, tiny_cfg, views):
    model = build(student=dict(
        tiny_byol(tiny_cfg['backbone']), type='FirstViewOnlyBYOL'))
    with pytest.raises(
            RuntimeError,
            match='called its projector 1 times, on 4 images, for 2 views '
            'of 8 images'):
        model.loss(list(views), [])


def test_student_with_state_of_its_own_is_refused(build, tiny_cfg):
    # mmpretrain's MoCo keeps its queue on itself, outside any submodule.
    moco = dict(
        type='MoCo',
        queue_len=8,
        feat_dim=4,
        backbone=tiny_cfg['backbone'],
        neck=tiny_cfg['neck'],
        head=tiny_cfg['head'])
    with pytest.raises(ValueError, match=r"MoCo keeps \['queue', "):
        build(student=moco)


def test_unknown_distill_point_lists_the_choices(build):
    with pytest.raises(ValueError, match=r"\['predictor', 'projector'\]"):
        build(distill_from='backbone')


def test_unknown_view_reduction_names_the_choices(build):
    with pytest.raises(ValueError, match="view_reduction must be 'sum' or"):
        build(view_reduction='max')


#: The shipped DisCo-on-SwAV config, the official main_swav_distill.py.
SWAV_CONFIG = osp.join(
    'configs', 'distilled_ssl',
    'disco-swav_efficientnet-b0_swav-r50_8xb64-mcrop-2-6-coslr-200e_in1k.py')


def test_swav_multi_crop_distillation_matches_the_official_formula(
        tiny_cfg, tmp_path, make_teacher_checkpoint):
    """The shipped DisCo-SwAV settings give, on 2 x 224 px + 6 x 96 px crops
    of 4 images and 128 dimensions, the official code's distillation term
    ``F.mse_loss(student, teacher) / 2`` over all 8 crops, with the
    student's unit embedding and the teacher's raw projector output."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, SWAV_CONFIG)).model.to_dict()
    assert cfg['student']['head']['loss']['num_crops'] == [2, 6]
    # Tiny networks (64-d features), the shipped heads and weights.
    cfg['student']['backbone'] = tiny_cfg['backbone']
    cfg['student']['neck']['in_channels'] = 64
    teacher_neck = dict(cfg['teacher']['neck'], in_channels=64)
    cfg['teacher'].update(
        backbone=tiny_cfg['backbone'],
        neck=teacher_neck,
        checkpoint=str(tmp_path / 'teacher.pth'))
    make_teacher_checkpoint(
        cfg['teacher']['checkpoint'], tiny_cfg['backbone'], teacher_neck)
    model = MODELS.build(cfg)
    model.init_weights()
    model = model.train().double()
    views = [torch.randn(4, 3, 224, 224, dtype=torch.float64)
             for _ in range(2)]
    views += [torch.randn(4, 3, 96, 96, dtype=torch.float64)
              for _ in range(6)]
    reference = copy.deepcopy(model)

    losses = model.loss(views, [])

    student_loss = copy.deepcopy(reference).student.loss(views, [])
    torch.testing.assert_close(losses['loss_student'], student_loss['loss'])
    with torch.no_grad():
        # The official student: backbone per crop size, one projector pass
        # over all crops, L2-normalised.
        pooled = torch.cat([
            reference.backbone(torch.cat(crops))[-1].mean(dim=(2, 3))
            for crops in (views[:2], views[2:])
        ])
        student = length_one(reference.neck.projection_neck(pooled))
        # The official teacher: eval mode, every crop, not normalised.
        assert not reference.teacher.training
        teacher = torch.cat([
            reference.teacher.neck(reference.teacher.backbone(crop))[0]
            for crop in views
        ])
    assert student.shape == teacher.shape == (8 * 4, 128)
    assert not torch.allclose(teacher.norm(dim=1),
                              torch.ones(32, dtype=torch.float64))
    official = (student - teacher).pow(2).sum() / student.numel() / 2
    torch.testing.assert_close(
        losses['loss_distill'], official, rtol=1e-9, atol=1e-12)
