# A frozen DINOv3 ViT-B/16 teacher (facebookresearch/dinov3's
# dinov3_vitb16_pretrain_lvd1689m-73cec8be.pth: 768-d, 12 blocks, 12 heads,
# otherwise as ./dinov3_vit-small-p16.py) in timm's
# vit_base_patch16_dinov3_qkvb; its embedding is the CLS token after the
# last norm, L2-normalised (768-d; 1536-d with
# backbone.pooling='cls+avgpool'). The student is the MoCo-v2 model of
# ../models/mocov2_resnet50.py with its projector ending at 768 dimensions.
_base_ = './dinov3_vit-small-p16.py'

teacher_name = 'dinov3-vit-base-p16'
teacher_feature_width = 768

model = dict(
    neck=dict(out_channels=768),
    teacher=dict(
        checkpoint='checkpoints/dinov3_vitb16_pretrain_lvd1689m-73cec8be.pth',
        backbone=dict(model_name='vit_base_patch16_dinov3_qkvb')))
