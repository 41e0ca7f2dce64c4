# Global + local similarity distillation (./README.md) on the digits demo:
# the quarter-width ResNet-18 student and the digits MoCo-v2 ResNet-18 w32
# teacher of ../seed/seed_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py,
# the teacher's pooled backbone feature (256-d, no projector) as its global
# embedding and its last map as its patch tokens. At 32 px both last maps
# are 1x1: the local term is then 0 (one patch per image), and this config
# trains the global term alone (README.md, open choices). Queue 512
# (LightlyTrain's length for 1,000-2,000 images: 1,347 here), one view per
# image (the digits views without blur and flip, LightlyTrain's colour
# strengths), AdamW lr 5e-4 x sqrt(64 / 1536), warm-up 6 of 60 epochs.
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/digits_knn_monitor.py'
]

model = dict(
    _delete_=True,
    type='GlobalLocalDistill',
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    teacher=dict(
        type='FrozenTeacher',
        checkpoint={{_base_.model.teacher.checkpoint}},
        backbone={{_base_.model.teacher.backbone}},
        neck=None,
        precision={{_base_.model.teacher.precision}}),
    queue=dict(
        type='EmbeddingQueue', length=512, start_empty=True, gather=False),
    global_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.07,
        teacher_temperature=0.07,
        divergence='kl'),
    local_loss=dict(type='PatchSimilarityDistillLoss'))

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MultiView', num_views=1, transforms=[[
            dict(type='RandomResizedCrop', scale=32,
                 crop_ratio_range=(0.14, 1.), backend='pillow'),
            dict(
                type='RandomApply',
                transforms=[
                    dict(
                        type='ColorJitter',
                        brightness=0.4,
                        contrast=0.4,
                        saturation=0.2,
                        hue=0.1)
                ],
                prob=0.8),
            dict(
                type='RandomGrayscale',
                prob=0.2,
                keep_channels=True,
                channel_weights=(0.114, 0.587, 0.2989)),
        ]]),
        dict(type='PackInputs')
    ]))

optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    # the frozen teacher left out without a warning per tensor
    constructor='StudentOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=5e-4 * (64 / 1536)**0.5, weight_decay=1e-6),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=6,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=54,
        eta_min_ratio=1e-3,
        by_epoch=True,
        begin=6,
        end=60,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=60)
