# DisCo on SimSiam: a ResNet-18 SimSiam student (mmpretrain's SimSiam recipe,
# MoCo-v2 views, SGD lr 0.05 with a fixed predictor lr) with DisCo's
# distillation from a frozen MoCo-v2 ResNet-50 teacher, 8 processes x 32
# images, 200 epochs. The projector and predictor give 128 dimensions, the
# teacher's; the predictor keeps SimSiam's 4x bottleneck.
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/models/distilled_ssl_resnet18.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    'mmpretrain::_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

lr = 0.05
model = dict(
    _delete_=True,
    type='DistilledSelfSup',
    student=_base_.simsiam_student,
    teacher=_base_.model.teacher,
    **_base_.disco_distillation)

optim_wrapper = dict(
    type='OptimWrapper',
    # the frozen teacher left out without a warning per tensor
    constructor='StudentOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=lr, weight_decay=1e-4, momentum=0.9),
    paramwise_cfg=dict(custom_keys={'predictor': dict(fix_lr=True)}))

custom_hooks = [
    dict(type='SimSiamHook', priority='HIGH', fix_pred_lr=True, lr=lr)
]
