# DisCo on SimSiam, digits: the digits DisCo student's backbone trained with
# SimSiam (projector 128-1024-1024-128, predictor 128-32-128 with a fixed
# lr) plus DisCo's distillation from the digits MoCo-v2 teacher; views and
# 60-epoch SGD schedule of the digits DisCo config.
_base_ = './disco-byol_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py'

simsiam = _base_.simsiam_student
model = dict(
    student=dict(
        simsiam,
        _delete_=True,
        backbone=_base_.digits_backbone,
        neck=dict(simsiam.neck, in_channels=128, hid_channels=1024)))

optim_wrapper = dict(
    # the frozen teacher left out without a warning per tensor
    constructor='StudentOptimWrapperConstructor',
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))

custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=0.06)
]
