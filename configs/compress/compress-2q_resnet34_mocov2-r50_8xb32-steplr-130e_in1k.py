# CompRess-2q: ResNet-34 student, MoCo-v2 ResNet-50 teacher, 130 epochs.
_base_ = './compress-2q_resnet18_mocov2-r50_8xb32-steplr-130e_in1k.py'

model = dict(backbone=dict(depth=34))
