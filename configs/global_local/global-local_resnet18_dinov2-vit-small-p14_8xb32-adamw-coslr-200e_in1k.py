# Global + local similarity distillation (LightlyTrain 0.18's
# `distillation`, its version 3; see ./README.md): a ResNet-18 student of
# DINOv2's ViT-S/14 (its CLS token and 16x16 patch tokens at 224 px,
# ../_base_/teachers/dinov2_vit-small-p14.py), one view per image mixed
# inside the batch, a queue of 8,192 teacher CLS tokens per process, both
# KL terms at temperature 0.07 with weight 1. LightlyTrain's recipe at this
# project's ImageNet scale: 8 processes x 32 images, AdamW lr 5e-4 x
# sqrt(256 / 1536), warm-up 10 epochs, cosine, 200 epochs.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
# Another teacher: replace the teacher base, the first of _base_ (see
# docs/teachers.md, "Swapping the teacher").
_base_ = [
    '../_base_/teachers/dinov2_vit-small-p14.py',
    '../_base_/datasets/imagenet_bs32_mocov2_one_view.py',
    '../_base_/default_runtime.py',
]

model = dict(
    _delete_=True,
    type='GlobalLocalDistill',
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    # the teacher's backbone embedding (a ViT's CLS token, a CNN's pooled
    # feature), without any projector of its base
    teacher=dict(_base_.model.teacher, neck=None),
    # LightlyTrain's length for 20,000 images or more; one per process,
    # empty at first
    queue=dict(
        type='EmbeddingQueue', length=8192, start_empty=True, gather=False),
    global_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.07,
        teacher_temperature=0.07,
        divergence='kl'),
    local_loss=dict(
        type='PatchSimilarityDistillLoss',
        student_temperature=0.07,
        teacher_temperature=0.07,
        divergence='kl',
        loss_weight=1.0))

# LightlyTrain's view: crop of 14-100% of the area, flip, colour jitter
# (0.4, 0.4, 0.2, 0.1) with probability 0.8, grey 0.2. Its blur (sigma at
# most 0.1 px) leaves an image unchanged and is left out.
view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.14, 1.),
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
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
]
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=1, transforms=[view_pipeline]),
        dict(type='PackInputs')
    ]))

# AdamW, lr 5e-4 x sqrt(global batch / 1536); weight decay 1e-6 (a CNN
# student), none on biases and normalisation layers; gradients clipped to
# norm 1.0.
optim_wrapper = dict(
    type='OptimWrapper',
    # the frozen teacher left out without a warning per tensor
    constructor='StudentOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW', lr=5e-4 * (256 / 1536)**0.5, weight_decay=1e-6),
    clip_grad=dict(max_norm=1.0),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
# Linear warm-up per iteration over min(10, epochs / 10) epochs, then cosine
# per iteration to 1e-3 of the peak.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=190,
        eta_min_ratio=1e-3,
        by_epoch=True,
        begin=10,
        end=200,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
