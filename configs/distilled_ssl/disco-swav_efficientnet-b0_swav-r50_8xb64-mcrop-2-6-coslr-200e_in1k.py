# DisCo on SwAV as the official DisCo code runs it (Yuting-Gao/DisCo-pytorch,
# swav-master/main_swav_distill.py, the "DisCo + SwAV" command of its
# Reproduction.md): a timm `efficientnet_b0` SwAV student (mmpretrain's SwAV,
# multi-crop 2 x 224 + 6 x 96) distilled from a frozen SwAV ResNet-50
# (800 epochs), 8 processes x 64 images, 200 epochs.
#
# The official objective, reproduced term by term:
#   loss = (sum over the 2 assignment crops of SwAV's term + mse) / 2
#   mse  = F.mse_loss(student embeddings of all 8 crops,
#                     teacher embeddings of the same 8 crops)
# i.e. mmpretrain's SwAV loss (already averaged over the assignment crops)
# plus 0.5 x one mean over crops x images x 128 dimensions. The student's
# embedding is SwAV's L2-normalised projector output; the teacher (eval
# mode) sees every crop and its embedding is its raw projector output, NOT
# normalised (the official teacher is built without SwAV's normalize=True).
_base_ = [
    'mmpretrain::_base_/schedules/imagenet_lars_coslr_200e.py',
    '../_base_/default_runtime.py',
]

num_crops = [2, 6]
batch_size = 64

# SwAV's own normalisation (std 0.228, not 0.229, for red), which the
# official code applies to student and teacher.
data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.14, 57.12, 57.375],
    to_rgb=True)


# Both crop sizes: crop, colour distortion of strength 1, blur, flip.
view_224px = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.14, 1.),
        backend='pillow'),
    dict(
        type='RandomApply',
        transforms=[
            dict(
                type='ColorJitter',
                brightness=0.8,
                contrast=0.8,
                saturation=0.8,
                hue=0.2)
        ],
        prob=0.8),
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
    dict(type='RandomFlip', prob=0.5),
]
view_96px = [
    dict(view_224px[0], scale=96, crop_ratio_range=(0.05, 0.14)),
    *view_224px[1:],
]

train_dataloader = dict(
    batch_size=batch_size,
    num_workers=8,
    drop_last=True,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageNet',
        data_root='data/imagenet/',
        split='train',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(
                type='MultiView',
                num_views=num_crops,
                transforms=[view_224px, view_96px]),
            dict(type='PackInputs')
        ]))

model = dict(
    type='DistilledSelfSup',
    student=dict(
        type='SwAV',
        backbone=dict(type='TimmPooledBackbone', model_name='efficientnet_b0'),
        neck=dict(
            type='SwAVNeck',
            in_channels=1280,
            hid_channels=2048,
            out_channels=128,
            with_avg_pool=True,
            norm_cfg=dict(type='BN1d')),
        head=dict(
            type='SwAVHead',
            loss=dict(
                type='SwAVLoss',
                feat_dim=128,
                epsilon=0.05,
                temperature=0.1,
                sinkhorn_iterations=3,
                crops_for_assign=[0, 1],
                num_crops=num_crops,
                num_prototypes=3000))),
    # facebookresearch/swav's 800-epoch ResNet-50; its released file loads as
    # it is (format detected from its keys), see docs/teachers.md.
    teacher=dict(
        type='FrozenTeacher',
        checkpoint='checkpoints/swav_800ep_pretrain.pth.tar',
        backbone=dict(
            type='ResNet',
            depth=50,
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
        neck=dict(
            type='BatchNormMLPNeck',
            in_channels=2048,
            hid_channels=2048,
            out_channels=128),
        normalize=False),
    # 0.5 x the mean over the 8 crops of each crop's mean over images and
    # dimensions: 0.5 x F.mse_loss over all crops, as the 8 crops have the
    # same number of images.
    distill_loss=dict(
        type='EmbeddingDistillLoss', reduction='mean', loss_weight=0.5),
    view_reduction='mean',
    distill_from='projector')

# The official LARC-wrapped SGD: lr 0.6 for 8 x 64 images, momentum 0.9,
# weight decay 1e-6 and the trust ratio on every parameter; cosine per
# iteration down to 0.0006, no warm-up.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='LARS', lr=0.6, momentum=0.9, weight_decay=1e-6,
                   eta=0.001))
param_scheduler = [
    dict(
        type='CosineAnnealingLR',
        T_max=200,
        eta_min=6e-4,
        by_epoch=True,
        begin=0,
        end=200,
        convert_to_iter_based=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=200)
# SwAV's prototypes are frozen for the first 5005 iterations; their gradient
# is unused then.
find_unused_parameters = True

# The official queue: 3840 rounded down to a multiple of the global batch
# (512), 3584, split over the 8 processes, used from epoch 15.
custom_hooks = [
    dict(
        type='SwAVHook',
        priority='VERY_HIGH',
        batch_size=batch_size,
        epoch_queue_starts=15,
        crops_for_assign=[0, 1],
        feat_dim=128,
        queue_length=3584,
        frozen_layers_cfg=dict(prototypes=5005))
]
