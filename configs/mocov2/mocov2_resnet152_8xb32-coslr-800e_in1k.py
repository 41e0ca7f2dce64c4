# MoCo-v2 ResNet-152 teacher, 800 epochs on ImageNet.
_base_ = './mocov2_resnet50_8xb32-coslr-200e_in1k.py'

model = dict(backbone=dict(depth=152))

param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=800, by_epoch=True, begin=0, end=800)
]
train_cfg = dict(max_epochs=800)
