# Global + local similarity distillation (./README.md): a timm ViT-Tiny/16
# student (vit_tiny_patch16_224: its CLS token for the global term, its
# 14x14 patch tokens, resized to the teacher's 16x16 grid, for the local
# one) of DINOv2's ViT-S/14, with everything else of
# ./global-local_resnet18_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py
# but LightlyTrain's weight decay for a transformer student: 0.04, none on
# biases, norms, the CLS token and the position embedding.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './global-local_resnet18_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='TimmPooledBackbone',
        model_name='vit_tiny_patch16_224'))

optim_wrapper = dict(
    optimizer=dict(weight_decay=0.04),
    paramwise_cfg=dict(
        custom_keys={
            'cls_token': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.0),
        }))
