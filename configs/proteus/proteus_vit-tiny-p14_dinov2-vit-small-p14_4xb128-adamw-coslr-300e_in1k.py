# Proteus (./README.md) with the official recipe of its DINOv2 students
# (pretrain/run_pretrain.sh): a ViT-Tiny/14 student (timm's
# vit_tiny_patch16_224 in patches of 14 with DINOv2's layer scale, 1.0 at
# start: the teacher's 16x16 grid at 224 px) regressing DINOv2's ViT-S/14,
# the teacher of the paper's ViT-Ti (CLS token and patch tokens after its
# last norm, not normalised, ../_base_/teachers/dinov2_vit-small-p14.py).
# Half of each batch has half of its patches masked; token, feature and
# patch terms are mean squared errors of weight 1. 4 processes x 128
# images, DeiT's augmentations with repeated augmentation, AdamW lr 5e-4
# (x global batch / 512), weight decay 0.05, 5 warm-up epochs, cosine to
# 1e-5 per epoch, 300 epochs.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = [
    '../_base_/teachers/dinov2_vit-small-p14.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/default_runtime.py',
]

mean_squared_error = dict(
    type='EmbeddingDistillLoss', reduction='mean', loss_weight=1.0)
model = dict(
    _delete_=True,
    type='Proteus',
    backbone=dict(
        type='TimmPooledBackbone',
        model_name='vit_tiny_patch16_224',
        patch_size=14,
        init_values=1.0),
    teacher=dict(**_base_.model.teacher, normalize=False),
    mask_probability=0.5,
    mask_ratio=0.5,
    token_loss=mean_squared_error,
    feature_loss=mean_squared_error,
    patch_loss=mean_squared_error)

# DeiT's training view (timm's create_transform of the official code): a
# bicubic random resized crop of 8-100% of the area, a flip, RandAugment
# rand-m9-mstd0.5-inc1 (2 operations, magnitude 9 of 10, std 0.5),
# random erasing with probability 0.25 filled with per-pixel noise. The
# official pipeline's colour jitter is off whenever RandAugment is on.
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(
            pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=bgr_mean,
        fill_std=bgr_std),
]
# Every image three times per epoch, on different processes (DeiT's
# repeated augmentation, on in the official distributed runs); the last
# incomplete batch dropped.
train_dataloader = dict(
    batch_size=128,
    drop_last=True,
    sampler=dict(type='RepeatAugSampler', num_repeats=3, shuffle=True),
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=1, transforms=[view_pipeline]),
        dict(type='PackInputs')
    ]))

# timm's AdamW of the official code: lr 5e-4 x global batch / 512, betas
# (0.9, 0.999), eps 1e-8, weight decay 0.05 on every weight of two or more
# dimensions (CLS token, position embedding and mask token included), none
# on biases, norms and layer scales; no gradient clipping.
optim_wrapper = dict(
    type='OptimWrapper',
    # the frozen teacher left out without a warning per tensor
    constructor='StudentOptimWrapperConstructor',
    optimizer=dict(
        type='AdamW',
        lr=5e-4 * 4 * 128 / 512,
        betas=(0.9, 0.999),
        eps=1e-8,
        weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
# Per epoch: linear warm-up from 1e-6 over 5 epochs, then cosine to 1e-5.
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / 5e-4,
        by_epoch=True,
        begin=0,
        end=5),
    dict(
        type='CosineAnnealingLR',
        T_max=295,
        eta_min=1e-5,
        by_epoch=True,
        begin=5,
        end=300)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=300)
