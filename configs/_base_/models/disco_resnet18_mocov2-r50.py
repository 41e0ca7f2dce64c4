# DisCo: a ResNet-18 MoCo-v2 student with the widened projector (hidden
# 2048) and the frozen MoCo-v2 ResNet-50 teacher of
# ../teachers/mocov2_resnet50.py.
_base_ = ['../teachers/mocov2_resnet50.py', './disco_objective.py']

model = dict(
    **_base_.disco_objective,
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=2048))
