# DisCo on MoCo-v3, a transformer student from a CNN teacher: a timm
# ViT-Tiny/16 student (vit_tiny_patch16_224) trained with mmpretrain's MoCo-v3
# ViT recipe as it is (mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py:
# its two asymmetric views, no queue, a predictor, AdamW lr 2.4e-3 for
# 16 processes x 256 images, 40 warm-up epochs, 300 epochs) plus DisCo's
# distillation from a frozen MoCo-v2 ResNet-50 teacher. The projector and
# predictor give 128 dimensions, the teacher's. Mixed precision: --amp.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = [
    'mmpretrain::mocov3/mocov3_vit-small-p16_16xb256-amp-coslr-300e_in1k.py',
    '../_base_/models/distilled_ssl_resnet18.py',
]

custom_imports = dict(imports=['disco_mm'], allow_failed_imports=False)
# Complete checkpoints with their checksums, and tools/dist_train.sh with
# several processes on machines without a GPU (docs/reliability.md).
runner_type = 'ReliableRunner'
# The hooks of ../_base_/default_runtime.py that make the run safe (it
# cannot be a base either): complete checkpoints, an old one removed only
# after the new one is written, exact resume, early failure on a non-finite
# loss, a checkpoint on SIGTERM.
default_hooks = dict(
    checkpoint=dict(type='SafeCheckpointHook'),
    exact_resume=dict(type='ExactResumeHook'),
    finite_loss=dict(type='FiniteLossHook'),
    preemption=dict(type='PreemptionHook'))

mocov3 = _base_.model
model = dict(
    _delete_=True,
    type='DistilledSelfSup',
    student=dict(
        mocov3,
        backbone=dict(
            type='TimmPooledBackbone', model_name='vit_tiny_patch16_224'),
        neck=dict(mocov3.neck, in_channels=192, out_channels=128),
        head=dict(
            mocov3.head,
            predictor=dict(
                mocov3.head.predictor, in_channels=128, out_channels=128))),
    # The teacher of ../_base_/teachers/mocov2_resnet50.py, which cannot be
    # a base here: mmpretrain's config above brings its own model.
    teacher=dict(
        type='FrozenTeacher',
        checkpoint='checkpoints/mocov2_resnet50_8xb32-coslr-200e_in1k.pth',
        backbone=dict(
            type='ResNet',
            depth=50,
            norm_cfg=dict(type='BN'),
            zero_init_residual=False),
        neck=dict(
            type='MoCoV2Neck',
            in_channels=2048,
            hid_channels=2048,
            out_channels=128,
            with_avg_pool=True)),
    **_base_.disco_distillation)

# mmpretrain's AdamW in full precision: tools/train.py --amp chooses the
# mixed-precision wrapper of the device (mmengine's AmpOptimWrapper refuses
# to run without a GPU). The patch projection keeps its random
# initialisation, as MoCoV3ViT's stop_grad_conv1=True (MoCo-v3's fix for
# unstable ViT training); timm's ViT keeps its learned position embedding.
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    # the frozen teacher left out without a warning per tensor
    constructor='StudentOptimWrapperConstructor',
    optimizer=_base_.optim_wrapper.optimizer,
    paramwise_cfg=dict(
        custom_keys={
            'backbone.model.patch_embed.proj':
            dict(lr_mult=0., decay_mult=0.)
        }))
