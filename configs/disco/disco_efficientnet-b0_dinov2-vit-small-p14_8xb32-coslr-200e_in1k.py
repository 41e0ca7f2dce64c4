# DisCo: timm `efficientnet_b0` student (1280-d feature) distilled from
# DINOv2's ViT-S/14 (its 384-d CLS token at 224 px); everything else as
# ./disco_resnet18_dinov2-vit-small-p14_8xb32-coslr-200e_in1k.py.
_base_ = './disco_resnet18_dinov2-vit-small-p14_8xb32-coslr-200e_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True, type='TimmPooledBackbone', model_name='efficientnet_b0'),
    neck=dict(in_channels=1280))
