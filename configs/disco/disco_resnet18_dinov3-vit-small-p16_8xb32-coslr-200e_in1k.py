# DisCo: ResNet-18 student distilled from DINOv3's ViT-S/16 (its 384-d CLS
# token at 224 px, ../_base_/teachers/dinov3_vit-small-p16.py), 200 epochs
# on ImageNet; student, distillation, data and schedule of
# ./disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py.
_base_ = [
    '../_base_/teachers/dinov3_vit-small-p16.py',
    '../_base_/models/disco_objective.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    **_base_.disco_objective,
    backbone=dict(depth=18),
    neck=dict(in_channels=512))
