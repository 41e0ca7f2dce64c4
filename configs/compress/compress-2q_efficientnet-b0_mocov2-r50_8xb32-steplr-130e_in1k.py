# CompRess-2q: timm `efficientnet_b0` student (pooled layout, its raw
# 1280-d feature), MoCo-v2 ResNet-50 teacher, 130 epochs.
_base_ = './compress-2q_resnet18_mocov2-r50_8xb32-steplr-130e_in1k.py'

model = dict(
    backbone=dict(
        _delete_=True, type='TimmPooledBackbone', model_name='efficientnet_b0'))
