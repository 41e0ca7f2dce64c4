# A frozen SwAV ResNet-50w2 teacher (facebookresearch/swav: stem and stages
# twice as wide, 4096-d feature; projector Linear-BN-ReLU-Linear
# 4096-8192-128) with the backbone and projector of the MoCo-v2 model of
# ../models/mocov2_resnet50.py as the student (no head, key encoder or
# queue: the algorithm's config adds them).
# SwAV's released file loads as it is (format detected from its keys):
# --cfg-options model.teacher.checkpoint=PATH, see docs/teachers.md.
_base_ = '../models/mocov2_resnet50.py'

# Read by the methods' configs: the teacher's name in the files made
# from it (BINGO's bags) and the width of its pooled backbone feature,
# which a method distils without the projector (teacher neck=None).
teacher_name = 'swav-r50w2'
teacher_feature_width = 4096

model = dict(
    _delete_=True,
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    teacher=dict(
        type='FrozenTeacher',
        checkpoint='checkpoints/swav_RN50w2_400ep_pretrain.pth.tar',
        backbone=dict(
            type='ResNet',
            depth=50,
            stem_channels=128,
            base_channels=128,
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
        neck=dict(
            type='BatchNormMLPNeck',
            in_channels=4096,
            hid_channels=8192,
            out_channels=128)))
