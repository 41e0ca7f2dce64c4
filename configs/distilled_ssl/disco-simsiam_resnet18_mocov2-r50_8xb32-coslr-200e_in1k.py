# DisCo on SimSiam: a ResNet-18 SimSiam student (mmpretrain's SimSiam recipe,
# MoCo-v2 views, SGD lr 0.05 with a fixed predictor lr) with DisCo's
# distillation from a frozen MoCo-v2 ResNet-50 teacher, 8 processes x 32
# images, 200 epochs. The projector and predictor give 128 dimensions, the
# teacher's; the predictor keeps SimSiam's 4x bottleneck.
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    'mmpretrain::_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

lr = 0.05
model = dict(
    _delete_=True,
    type='DistilledSelfSup',
    student=dict(
        type='SimSiam',
        backbone=dict(
            type='ResNet',
            depth=18,
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
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
                with_last_bias=True))),
    teacher={{_base_.model.teacher}},
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0),
    distill_from='projector')

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))

custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr)
]
