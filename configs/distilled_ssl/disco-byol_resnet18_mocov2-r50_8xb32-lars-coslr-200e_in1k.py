# DisCo on BYOL: a ResNet-18 BYOL student (mmpretrain's BYOL, its two
# asymmetric views and LARS schedule) with DisCo's distillation from a
# frozen MoCo-v2 ResNet-50 teacher, 8 processes x 32 images, 200 epochs.
# The projector and predictor give 128 dimensions, the teacher's.
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/models/distilled_ssl_resnet18.py',
    'mmpretrain::_base_/datasets/imagenet_bs32_byol.py',
    'mmpretrain::_base_/schedules/imagenet_lars_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    _delete_=True,
    type='DistilledSelfSup',
    student=_base_.byol_student,
    teacher=_base_.model.teacher,
    **_base_.disco_distillation)

# BYOL's LARS recipe (lr 4.8 for a batch of 4,096) scaled linearly to 256.
optim_wrapper = dict(
    type='OptimWrapper',
    # the frozen teacher left out without a warning per tensor
    constructor='StudentOptimWrapperConstructor',
    optimizer=dict(type='LARS', lr=0.3, momentum=0.9, weight_decay=1e-6),
    paramwise_cfg=dict(
        custom_keys={
            'bn': dict(decay_mult=0, lars_exclude=True),
            'bias': dict(decay_mult=0, lars_exclude=True),
            'downsample.1': dict(decay_mult=0, lars_exclude=True),
        }))
