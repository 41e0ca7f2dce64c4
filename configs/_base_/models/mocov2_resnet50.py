# MoCo-v2 ResNet-50: projector 2048-2048-128, queue 65,536, m 0.999, tau 0.2.
model = dict(
    type='MoCoV2Student',
    backbone=dict(
        type='ResNet',
        depth=50,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='MoCoV2Neck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=128,
        with_avg_pool=True),
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
    key_encoder=dict(type='MomentumEncoder', momentum=0.999),
    queue=dict(type='EmbeddingQueue', length=65536))
