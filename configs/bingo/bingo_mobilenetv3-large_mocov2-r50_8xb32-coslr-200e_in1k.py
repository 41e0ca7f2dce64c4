# BINGO: timm `mobilenetv3_large_100` student (pooled layout, 1280-d
# feature), MoCo-v2 ResNet-50 teacher, 200 epochs.
_base_ = './bingo_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='TimmPooledBackbone',
        model_name='mobilenetv3_large_100'),
    neck=dict(in_channels=1280))
