# A frozen DINOv3 ConvNeXt-Tiny teacher (facebookresearch/dinov3's
# dinov3_convnext_tiny_pretrain_lvd1689m-21b726bb.pth, distilled from its
# ViT-7B: stages of 3, 3, 9, 3 blocks, 96 to 768 channels) in timm's
# convnext_tiny. Its embedding, as DINOv3's (its x_norm_clstoken), is the
# final LayerNorm of the average-pooled last feature map, which is timm's
# pooled output, L2-normalised (768-d). The student is the MoCo-v2 model of
# ../models/mocov2_resnet50.py with its projector ending at 768 dimensions.
_base_ = '../models/mocov2_resnet50.py'

# Read by the methods' configs: the teacher's name in the files made
# from it (BINGO's bags) and the width of its pooled backbone feature,
# which a method distils without the projector (teacher neck=None).
teacher_name = 'dinov3-convnext-tiny'
teacher_feature_width = 768

model = dict(
    _delete_=True,
    backbone={{_base_.model.backbone}},
    neck=dict(
        type='MoCoV2Neck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=768,
        with_avg_pool=True),
    teacher=dict(
        type='FrozenTeacher',
        checkpoint='checkpoints/'
        'dinov3_convnext_tiny_pretrain_lvd1689m-21b726bb.pth',
        backbone=dict(type='TimmPooledBackbone', model_name='convnext_tiny'),
        neck=None))
