# Global + local similarity distillation (./README.md) of DINOv3's ViT-S/16
# into a timm ViT-Tiny/16: the same 14x14 patch grid at 224 px, so the
# student's patch tokens meet the teacher's without resizing. The teacher of
# ./global-local_resnet18_dinov3-vit-small-p16_8xb32-adamw-coslr-200e_in1k.py,
# everything else of
# ./global-local_vit-tiny-p16_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './global-local_vit-tiny-p16_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py'

model = dict(
    teacher=dict(
        checkpoint='checkpoints/dinov3_vits16_pretrain_lvd1689m-08c60483.pth',
        backbone=dict(
            model_name='vit_small_patch16_dinov3_qkvb', global_pool='token')))
