# DisCo: ResNet-18 student distilled from a MoCo-v2 ResNet-50 teacher,
# 8 processes x 32 images, 200 epochs on ImageNet, the paper's settings.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = [
    '../_base_/models/disco_resnet18_mocov2-r50.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]
