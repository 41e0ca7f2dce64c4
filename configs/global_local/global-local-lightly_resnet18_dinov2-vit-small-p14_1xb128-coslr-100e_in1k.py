# LightlyTrain 0.18's defaults for its `distillation` method (./README.md),
# as far as they apply here: a global batch of 128 (here one process),
# 100 epochs, AdamW lr 5e-4 x sqrt(128 / 1536), warm-up 10 epochs, the
# ResNet-18 student and DINOv2 ViT-S/14 teacher of
# ./global-local_resnet18_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py
# (LightlyTrain's default teacher, DINOv3 ViT-B/16, is not available here).
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './global-local_resnet18_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py'

train_dataloader = dict(batch_size=128)

optim_wrapper = dict(optimizer=dict(lr=5e-4 * (128 / 1536)**0.5))
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
        T_max=90,
        eta_min_ratio=1e-3,
        by_epoch=True,
        begin=10,
        end=100,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=100)
