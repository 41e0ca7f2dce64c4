# The digits teacher: a ResNet-18 of half width (2.8M parameters) trained
# with MoCo-v2 on scikit-learn's digits in one process.
_base_ = [
    '../_base_/datasets/digits_bs64_mocov2.py',
    '../_base_/schedules/digits_sgd_coslr.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='MoCoV2Student',
    queue_len=1024,
    feat_dim=128,
    momentum=0.99,
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=32,
        base_channels=32,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='MoCoV2Neck',
        in_channels=256,
        hid_channels=1024,
        out_channels=128,
        with_avg_pool=True),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2))

train_cfg = dict(max_epochs=100)
default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
