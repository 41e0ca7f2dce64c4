# DisCo on BYOL, digits: the digits DisCo student's backbone (ResNet-18 of
# quarter width) trained with BYOL (projector and predictor 128-1024-128)
# plus DisCo's distillation from the digits MoCo-v2 teacher. Views, SGD
# schedule and 60 epochs are those of the digits DisCo config, so the two
# differ by the student's objective only.
_base_ = '../_base_/teachers/mocov2_resnet18-w32_digits.py'

model = dict(
    _delete_=True,
    type='DistilledSelfSup',
    student=dict(
        type='BYOL',
        base_momentum=0.01,
        backbone=dict(
            type='ResNet',
            depth=18,
            stem_channels=16,
            base_channels=16,
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
        neck=dict(
            type='NonLinearNeck',
            in_channels=128,
            hid_channels=1024,
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
                hid_channels=1024,
                out_channels=128,
                num_layers=2,
                with_bias=True,
                with_last_bn=False,
                with_avg_pool=False),
            loss=dict(type='CosineSimilarityLoss'))),
    teacher={{_base_.model.teacher}},
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0),
    distill_from='projector')
