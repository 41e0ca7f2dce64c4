# The digits demo's DisCo student: a ResNet-18 of quarter width (0.7M
# parameters, projector hidden width 1024) distilled from the digits MoCo-v2
# teacher (ResNet-18 of half width, 2.8M). Student and schedule are those of
# the MoCo-v2-only baseline mocov2_resnet18-w16_1xb64-coslr-60e_digits.py.
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/digits_knn_monitor.py'
]

model = dict(
    type='DisCo',
    # the contrastive part of the digits MoCo-v2 run
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
    key_encoder=dict(type='MomentumEncoder', momentum=0.99),
    queue=dict(type='EmbeddingQueue', length=1024),
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=128),
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0))
