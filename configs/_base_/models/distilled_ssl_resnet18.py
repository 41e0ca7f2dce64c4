# Students of DistilledSelfSup: mmpretrain's BYOL and SimSiam on a ResNet-18
# whose projector and predictor end at 128 dimensions (the MoCo-v2
# teachers' width), and DisCo's distillation term on the projector output.
# The ImageNet configs take them as they are; the digits configs narrow the
# backbone and the hidden widths. A config sets
#   model = dict(_delete_=True, type='DistilledSelfSup',
#                student=_base_.byol_student, teacher=...,
#                **_base_.disco_distillation)
# with the teacher of a ../teachers/ fragment.
resnet18 = dict(
    type='ResNet', depth=18, norm_cfg=dict(type='BN'), zero_init_residual=False)

# BYOL: projector and predictor 512-4096-128 and 128-4096-128.
byol_student = dict(
    type='BYOL',
    base_momentum=0.01,
    backbone=resnet18,
    neck=dict(
        type='NonLinearNeck',
        in_channels=512,
        hid_channels=4096,
        out_channels=128,
        num_layers=2,
        with_bias=True,
        with_last_bn=False,
        with_avg_pool=True),
    head=dict(
        type='LatentPredictHead',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=4096,
            out_channels=128,
            num_layers=2,
            with_bias=True,
            with_last_bn=False,
            with_avg_pool=False),
        loss=dict(type='CosineSimilarityLoss')))

# SimSiam: projector 512-2048-2048-128, predictor with SimSiam's 4x
# bottleneck, 128-32-128.
simsiam_student = dict(
    type='SimSiam',
    backbone=resnet18,
    neck=dict(
        type='NonLinearNeck',
        in_channels=512,
        hid_channels=2048,
        out_channels=128,
        num_layers=3,
        with_last_bn_affine=False,
        with_avg_pool=True),
    head=dict(
        type='LatentPredictHead',
        loss=dict(type='CosineSimilarityLoss'),
        predictor=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=32,
            out_channels=128,
            with_avg_pool=False,
            with_last_bn=False,
            with_last_bias=True)))

# DisCo's term, this project's extension to these objectives: the official
# sum of squared errors over 32 images per process, weight 1.
disco_distillation = dict(
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0),
    distill_from='projector')
