# DisCo: a ResNet-18 MoCo-v2 student with the widened projector (hidden
# 2048) and the frozen MoCo-v2 ResNet-50 teacher of
# ../teachers/mocov2_resnet50.py.
_base_ = '../teachers/mocov2_resnet50.py'

model = dict(
    type='DisCo',
    # MoCo-v2's contrastive part (../models/mocov2_resnet50.py)
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
    key_encoder=dict(type='MomentumEncoder', momentum=0.999),
    queue=dict(type='EmbeddingQueue', length=65536),
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=2048),
    # The official sum over 128 dims and 32 images per view, kept at that
    # weight for any per-process batch (see EmbeddingDistillLoss).
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0))
