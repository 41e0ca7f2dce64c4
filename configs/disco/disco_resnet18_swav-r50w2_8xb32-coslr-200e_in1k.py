# DisCo: ResNet-18 student distilled from facebookresearch/swav's ResNet-50w2
# (../_base_/teachers/swav_resnet50w2.py), 200 epochs on ImageNet; student,
# distillation, data and schedule of
# ./disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py. The DisCo part below
# is that of ../_base_/models/disco_resnet18_mocov2-r50.py: a config's model
# comes from one line of bases, here the SwAV teacher's.
_base_ = [
    '../_base_/teachers/swav_resnet50w2.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='DisCo',
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
    key_encoder=dict(type='MomentumEncoder', momentum=0.999),
    queue=dict(type='EmbeddingQueue', length=65536),
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=2048),
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0))
