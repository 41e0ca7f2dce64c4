# The digits teacher: a ResNet-18 of half width (2.8M parameters) trained
# with MoCo-v2 on scikit-learn's digits in one process. Queue and momentum
# are scaled to the small data set (1,347 training images, 21 steps/epoch).
_base_ = [
    '../_base_/models/mocov2_resnet50.py',
    '../_base_/datasets/digits_bs64_mocov2.py',
    '../_base_/schedules/digits_sgd_coslr.py',
    '../_base_/default_runtime.py',
]

model = dict(
    key_encoder=dict(momentum=0.99),
    queue=dict(length=1024),
    backbone=dict(depth=18, stem_channels=32, base_channels=32),
    neck=dict(in_channels=256, hid_channels=1024))

train_cfg = dict(max_epochs=100)
default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
