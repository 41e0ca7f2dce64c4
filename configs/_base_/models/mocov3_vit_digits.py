# Tiny timm ViTs for the 32 px digits and MoCo-v3's recipe for them, read by
# the digits MoCo-v3 configs (../../mocov3/) and by the digits DisCo configs
# with a ViT student or teacher. Only variables: a config spreads them, e.g.
#   model = dict(backbone=dict(_base_.digits_vit_student, _delete_=True))
#   optim_wrapper = dict(_base_.vit_optim_wrapper, _delete_=True)

# vit_tiny_patch16_224's blocks (3 heads, MLP ratio 4) on 4 px patches of a
# 32 px image (8 x 8 patches and the CLS token), 6 blocks; the pooled feature
# is timm's default for ViTs, the CLS token after the final norm. The
# teacher is 192 wide (2,691,648 parameters, against the ResNet-18 of half
# width's 2,798,880), the student 96 (682,272, against the ResNet-18 of
# quarter width's 702,096).
digits_vit_teacher = dict(
    type='TimmPooledBackbone',
    model_name='vit_tiny_patch16_224',
    img_size=32,
    patch_size=4,
    depth=6,
    num_heads=3,
    embed_dim=192)
digits_vit_student = dict(digits_vit_teacher, embed_dim=96)

# MoCo-v3 as mmpretrain's ViT configs (mocov3_vit-small-p16_*): a 3-layer
# projector and a 2-layer predictor with BatchNorm and no biases, the last
# BatchNorm without affine parameters, InfoNCE over the batch at
# temperature 0.2 (loss weight 2 x tau), no queue, a cosine-scheduled
# momentum encoder from 0.99. Widths as the digits MoCo-v2 runs: hidden
# 1024, embedding 128, so that a digits student of either method can be
# distilled from either teacher.
mocov3_temperature = 0.2
mocov3_digits = dict(
    type='MoCoV3',
    base_momentum=0.01,
    backbone=digits_vit_teacher,
    neck=dict(
        type='NonLinearNeck',
        in_channels=192,
        hid_channels=1024,
        out_channels=128,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_last_bias=False,
        with_avg_pool=False),
    head=dict(
        type='MoCoV3Head',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=1024,
            out_channels=128,
            num_layers=2,
            with_bias=False,
            with_last_bn=True,
            with_last_bn_affine=False,
            with_last_bias=False,
            with_avg_pool=False),
        loss=dict(type='CrossEntropyLoss', loss_weight=2 * mocov3_temperature),
        temperature=mocov3_temperature))

# MoCo-v3's ViT optimiser: AdamW, weight decay 0.1, lr 2.4e-3 for a batch of
# 4,096 scaled to 64 by the square root (Adam's rule; the linear rule would
# give 3.75e-5). A linear warm-up over the first 10 epochs (MoCo-v3: 40 of
# 300) times a cosine decay per iteration over the whole run: both end
# with train_cfg.max_epochs, so `--cfg-options train_cfg.max_epochs=N` is
# enough, also for N under 10.
vit_optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=3e-4, weight_decay=0.1))
vit_param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        convert_to_iter_based=True)
]
