# A frozen DINOv2 ViT-S/14 teacher (facebookresearch/dinov2's
# dinov2_vits14_pretrain.pth: 384-d, 12 blocks, 6 heads, layer scale),
# trained at 518 px (37x37 patches) and run at the students' 224 px (16x16
# patches): its position embedding is resized once, at load, as DINOv2's
# hub model resizes it at every forward pass. DINOv2 releases no projector:
# the distilled embedding is the CLS token after the last norm,
# L2-normalised (384-d; backbone.pooling='cls+avgpool' gives CLS and mean
# patch token, 768-d). The student is the MoCo-v2 model of
# ../models/mocov2_resnet50.py with its projector ending at 384 dimensions.
# With registers (dinov2_vits14_reg4_pretrain.pth):
# model_name='vit_small_patch14_reg4_dinov2'.
_base_ = '../models/mocov2_resnet50.py'

# Read by the methods' configs: the teacher's name in the files made
# from it (BINGO's bags) and the width of its pooled backbone feature,
# which a method distils without the projector (teacher neck=None).
teacher_name = 'dinov2-vit-small-p14'
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
        checkpoint='checkpoints/dinov2_vits14_pretrain.pth',
        backbone=dict(
            type='TimmPooledBackbone',
            model_name='vit_small_patch14_dinov2',
            img_size=224),
        neck=None))
