# The digits demo's DisCo student: a ResNet-18 of quarter width (0.7M
# parameters, projector hidden width 1024) distilled from the digits MoCo-v2
# teacher (ResNet-18 of half width, 2.8M). Student and schedule are those of
# the MoCo-v2-only baseline mocov2_resnet18-w16_1xb64-coslr-60e_digits.py.
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/models/disco_objective.py',
    '../_base_/digits_knn_monitor.py'
]

# DisCo's parts with the contrastive settings of the digits MoCo-v2 run
# (momentum 0.99, 1,024 keys).
disco = _base_.disco_objective
model = dict(
    disco,
    key_encoder=dict(disco.key_encoder, momentum=0.99),
    queue=dict(disco.queue, length=1024),
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=128))
