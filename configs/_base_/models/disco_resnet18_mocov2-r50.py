# DisCo: a ResNet-18 MoCo-v2 student with the widened projector (hidden
# 2048) and a frozen MoCo-v2 ResNet-50 teacher (backbone and projector of
# ./mocov2_resnet50.py).
_base_ = './mocov2_resnet50.py'

model = dict(
    type='DisCo',
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=2048),
    teacher=dict(
        type='FrozenTeacher',
        # mmpretrain's MoCo-v2 ResNet-50 (200 epochs), or any checkpoint
        # with the same backbone.* and neck.* keys. Override with
        # --cfg-options model.teacher.checkpoint=PATH.
        checkpoint='checkpoints/mocov2_resnet50_8xb32-coslr-200e_in1k.pth',
        backbone={{_base_.model.backbone}},
        neck={{_base_.model.neck}}),
    # The official sum over 128 dims and 32 images per view, kept at that
    # weight for any per-process batch (see EmbeddingDistillLoss).
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0))
