# DisCo: a timm ViT-Tiny/16 student (vit_tiny_patch16_224, 5.5M parameters,
# its class token a 192-d feature) with the widened projector (192-2048-128)
# distilled from the MoCo-v2 ResNet-50 teacher, 8 processes x 32 images,
# 200 epochs on ImageNet. DisCo's parts and views are those of the
# ResNet-18 config; the optimiser is MoCo-v3's ViT recipe.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='TimmPooledBackbone',
        model_name='vit_tiny_patch16_224'),
    neck=dict(in_channels=192))

# MoCo-v3's ViT optimiser (mmpretrain's mocov3_vit-small-p16 config): AdamW,
# weight decay 0.1, lr 1.5e-4 x batch / 256 (2.4e-3 for 4,096), here 256;
# a linear warm-up over 20 epochs (MoCo-v3: 40 of 300), then cosine decay
# per iteration to epoch 200.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4, weight_decay=0.1))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=20,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=180,
        by_epoch=True,
        begin=20,
        end=200,
        convert_to_iter_based=True)
]
