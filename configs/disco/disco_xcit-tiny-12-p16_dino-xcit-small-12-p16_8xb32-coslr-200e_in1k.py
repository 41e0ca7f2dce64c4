# DisCo: timm `xcit_tiny_12_p16_224` student (192-d CLS token) distilled
# from DINO's XCiT-S12/16 (the head's 256-d bottleneck,
# ../_base_/teachers/dino_xcit-small-12-p16.py), 200 epochs on ImageNet with
# the recipe of ./disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py; the
# official release states no recipe of its own for this row (README.md).
_base_ = [
    '../_base_/teachers/dino_xcit-small-12-p16.py',
    '../_base_/models/disco_objective.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    **_base_.disco_objective,
    backbone=dict(
        _delete_=True,
        type='TimmPooledBackbone',
        model_name='xcit_tiny_12_p16_224'),
    neck=dict(in_channels=192))
