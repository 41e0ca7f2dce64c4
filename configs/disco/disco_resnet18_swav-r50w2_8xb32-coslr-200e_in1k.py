# DisCo: ResNet-18 student distilled from facebookresearch/swav's ResNet-50w2
# (stem and stages twice as wide, 4096-d feature; projector
# Linear-BN-ReLU-Linear 4096-8192-128), 200 epochs on ImageNet.
# SwAV's released file loads as it is (format detected from its keys):
# --cfg-options model.teacher.checkpoint=PATH, see docs/teachers.md.
_base_ = './disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'

model = dict(
    teacher=dict(
        checkpoint='checkpoints/swav_RN50w2_400ep_pretrain.pth.tar',
        backbone=dict(stem_channels=128, base_channels=128),
        neck=dict(
            _delete_=True,
            type='BatchNormMLPNeck',
            in_channels=4096,
            hid_channels=8192,
            out_channels=128)))
