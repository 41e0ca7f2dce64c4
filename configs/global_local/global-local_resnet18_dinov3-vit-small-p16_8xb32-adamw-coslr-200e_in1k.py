# Global + local similarity distillation (./README.md) of DINOv3's ViT-S/16
# (its CLS token and 14x14 patch tokens at 224 px, without its 4 storage
# tokens, as ../_base_/teachers/dinov3_vit-small-p16.py builds it) into a
# ResNet-18, with everything else of
# ./global-local_resnet18_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './global-local_resnet18_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py'

model = dict(
    teacher=dict(
        checkpoint='checkpoints/dinov3_vits16_pretrain_lvd1689m-08c60483.pth',
        backbone=dict(
            model_name='vit_small_patch16_dinov3_qkvb', global_pool='token')))
