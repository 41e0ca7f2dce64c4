# DisCo: ResNet-18 student distilled from a MoCo-v2 ResNet-50 teacher,
# 8 processes x 32 images, 200 epochs on ImageNet, the paper's settings.
_base_ = [
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

# mmpretrain's MoCo-v2 ResNet-50 (200 epochs), or any checkpoint with the
# same backbone.* and neck.* keys.
teacher_checkpoint = 'checkpoints/mocov2_resnet50_8xb32-coslr-200e_in1k.pth'

model = dict(
    type='DisCo',
    queue_len=65536,
    feat_dim=128,
    momentum=0.999,
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    # The widened projector: hidden width 2048 for every student.
    neck=dict(
        type='MoCoV2Neck',
        in_channels=512,
        hid_channels=2048,
        out_channels=128,
        with_avg_pool=True),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
    teacher=dict(
        type='FrozenTeacher',
        checkpoint=teacher_checkpoint,
        backbone=dict(
            type='ResNet',
            depth=50,
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
        neck=dict(
            type='MoCoV2Neck',
            in_channels=2048,
            hid_channels=2048,
            out_channels=128,
            with_avg_pool=True)),
    # The official sum over 128 dims and 32 images per view, kept at that
    # weight for any per-process batch (see EmbeddingDistillLoss).
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0))
