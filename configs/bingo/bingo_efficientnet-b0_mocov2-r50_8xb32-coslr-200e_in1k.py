# BINGO: timm `efficientnet_b0` student (pooled layout, 1280-d feature),
# MoCo-v2 ResNet-50 teacher, 200 epochs. Temperature 0.12 and weight decay
# 4e-5 are those of the official EfficientNet-B0 run
# (scripts/unsupervised/SEffB0-TR50W2.sh, whose teacher is a SwAV
# ResNet-50w2); the ResNet students use 0.2 and 1e-4.
_base_ = './bingo_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True, type='TimmPooledBackbone', model_name='efficientnet_b0'),
    neck=dict(in_channels=1280),
    head=dict(temperature=0.12))

optim_wrapper = dict(optimizer=dict(weight_decay=4e-5))
