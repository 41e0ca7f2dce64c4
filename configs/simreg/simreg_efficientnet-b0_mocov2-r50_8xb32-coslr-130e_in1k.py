# SimReg: timm `efficientnet_b0` student (pooled layout, 1280-d feature),
# prediction head 1280 -> 2560 -> 1280 -> 2560 -> 2048, MoCo-v2 ResNet-50
# teacher, 130 epochs.
_base_ = './simreg_resnet18_mocov2-r50_8xb32-coslr-130e_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True, type='TimmPooledBackbone', model_name='efficientnet_b0'),
    neck=dict(in_channels=1280, hid_channels=2560))
