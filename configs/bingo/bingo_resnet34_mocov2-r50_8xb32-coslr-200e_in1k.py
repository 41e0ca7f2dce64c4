# BINGO: ResNet-34 student, MoCo-v2 ResNet-50 teacher, 200 epochs.
_base_ = './bingo_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'

model = dict(backbone=dict(depth=34))
