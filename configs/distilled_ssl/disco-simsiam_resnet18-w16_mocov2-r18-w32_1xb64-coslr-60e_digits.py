# DisCo on SimSiam, digits: the digits DisCo student's backbone trained with
# SimSiam (projector 128-1024-1024-128, predictor 128-32-128 with a fixed
# lr) plus DisCo's distillation from the digits MoCo-v2 teacher; views and
# 60-epoch SGD schedule of the digits DisCo config.
_base_ = './disco-byol_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py'

model = dict(
    student=dict(
        _delete_=True,
        type='SimSiam',
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
                with_last_bias=True))))

optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))

custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=0.06)
]
