# MoCo-v2 ResNet-101 teacher, 200 epochs on ImageNet.
_base_ = './mocov2_resnet50_8xb32-coslr-200e_in1k.py'

model = dict(backbone=dict(depth=101))
