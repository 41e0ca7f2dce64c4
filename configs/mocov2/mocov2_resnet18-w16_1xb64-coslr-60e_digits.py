# The no-teacher baseline of the digits demo: the DisCo student (a ResNet-18
# of quarter width, 0.7M parameters, projector widened to 1024) trained with
# MoCo-v2 alone, same schedule as its DisCo twin.
_base_ = [
    './mocov2_resnet18-w32_1xb64-coslr-100e_digits.py',
    '../_base_/digits_knn_monitor.py'
]

model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=128, hid_channels=1024))

# 60 epochs (the teacher trains 100) keep the whole digits demo under 13
# minutes on 2 CPU cores: ~2 s per epoch here, ~3 s for the DisCo twin.
train_cfg = dict(max_epochs=60)
