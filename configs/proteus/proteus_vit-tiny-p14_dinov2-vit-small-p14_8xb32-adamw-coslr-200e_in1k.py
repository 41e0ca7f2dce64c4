# Proteus (./README.md) at this project's ImageNet scale, 8 processes x 32
# images for 200 epochs like its other students, with everything else of
# ./proteus_vit-tiny-p14_dinov2-vit-small-p14_4xb128-adamw-coslr-300e_in1k.py:
# the official lr rule gives 5e-4 x 256 / 512 = 2.5e-4; 5 warm-up epochs,
# then cosine to 1e-5 per epoch.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './proteus_vit-tiny-p14_dinov2-vit-small-p14_4xb128-adamw-coslr-300e_in1k.py'

train_dataloader = dict(batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=5e-4 * 8 * 32 / 512))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-6 / 2.5e-4,
        by_epoch=True,
        begin=0,
        end=5),
    dict(
        type='CosineAnnealingLR',
        T_max=195,
        eta_min=1e-5,
        by_epoch=True,
        begin=5,
        end=200)
]
train_cfg = dict(max_epochs=200)
