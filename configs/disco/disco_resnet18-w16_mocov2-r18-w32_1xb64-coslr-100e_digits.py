# The digits demo's DisCo student: a ResNet-18 of quarter width (0.7M
# parameters) distilled from the digits MoCo-v2 teacher (ResNet-18 of half
# width, 2.8M). Same schedule as the MoCo-v2-only baseline.
_base_ = '../mocov2/mocov2_resnet18-w16_1xb64-coslr-100e_digits.py'

# Written by mocov2_resnet18-w32_1xb64-coslr-100e_digits.py; the demo sets it.
teacher_checkpoint = 'work_dirs/digits_teacher/epoch_100.pth'

model = dict(
    type='DisCo',
    teacher=dict(
        type='FrozenTeacher',
        checkpoint=teacher_checkpoint,
        backbone=dict(
            type='ResNet',
            depth=18,
            stem_channels=32,
            base_channels=32,
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
        neck=dict(
            type='MoCoV2Neck',
            in_channels=256,
            hid_channels=1024,
            out_channels=128,
            with_avg_pool=True)),
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0))
