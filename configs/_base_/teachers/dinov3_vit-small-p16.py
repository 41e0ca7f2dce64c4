# A frozen DINOv3 ViT-S/16 teacher (facebookresearch/dinov3's
# dinov3_vits16_pretrain_lvd1689m-08c60483.pth: 384-d, 12 blocks, 6 heads,
# layer scale, 4 storage tokens, RoPE, query and value biases with the key
# bias masked) in timm's vit_small_patch16_dinov3_qkvb. RoPE has no weights
# to resize: the teacher runs at the students' 224 px (its training size,
# 14x14 patches) or any other. DINOv3 releases no projector: the distilled
# embedding is the CLS token after the last norm (global_pool='token';
# timm's default for these models is the patch mean), L2-normalised (384-d;
# backbone.pooling='cls+avgpool' gives CLS and the mean of the patch tokens,
# the storage tokens left out, 768-d). The student is the MoCo-v2 model of
# ../models/mocov2_resnet50.py with its projector ending at 384 dimensions.
_base_ = '../models/mocov2_resnet50.py'

# Read by the methods' configs: the teacher's name in the files made
# from it (BINGO's bags) and the width of its pooled backbone feature,
# which a method distils without the projector (teacher neck=None).
teacher_name = 'dinov3-vit-small-p16'
teacher_feature_width = 384

model = dict(
    _delete_=True,
    backbone={{_base_.model.backbone}},
    neck=dict(
        type='MoCoV2Neck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=384,
        with_avg_pool=True),
    teacher=dict(
        type='FrozenTeacher',
        checkpoint='checkpoints/dinov3_vits16_pretrain_lvd1689m-08c60483.pth',
        backbone=dict(
            type='TimmPooledBackbone',
            model_name='vit_small_patch16_dinov3_qkvb',
            global_pool='token'),
        neck=None))
