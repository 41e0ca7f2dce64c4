# DisCo: ResNet-18 student distilled from a MoCo-v2 ResNet-50 teacher,
# 8 processes x 32 images, 200 epochs on ImageNet, the paper's settings.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
# Another teacher: replace the teacher base, the first of _base_ (see
# docs/teachers.md, "Swapping the teacher").
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/models/disco_objective.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    **_base_.disco_objective,
    backbone=dict(depth=18),
    # the widened projector (hidden 2048) of the paper
    neck=dict(in_channels=512, hid_channels=2048))
