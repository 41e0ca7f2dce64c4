# CompRess-1q as its official code (train_student_one_queue.py): one linear
# layer maps the ResNet-18 student's pooled feature (512-d) onto the width
# of the frozen MoCo-v2 ResNet-50 teacher's pooled backbone feature (2048-d,
# teacher_feature_width of its base; its projector removed); both are
# compared with one bank of 128,000 teacher features (temperature 0.04,
# KL). Data and schedule of
# ./compress-2q_resnet18_mocov2-r50_8xb32-steplr-130e_in1k.py: one
# crop-and-flip view, SGD lr 0.01, x0.2 after epochs 90 and 120, 130 epochs.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
# Another teacher: replace the teacher base, the first of _base_ (see
# docs/teachers.md, "Swapping the teacher").
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_bs32_crop_flip_one_view.py',
    '../_base_/schedules/imagenet_sgd_steplr_130e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='CompRess1q',
    backbone=dict(depth=18),
    # exactly Linear(512, teacher width) on the pooled feature
    neck=dict(
        _delete_=True,
        type='LinearNeck',
        in_channels=512,
        out_channels=_base_.teacher_feature_width,
        gap_dim=2,
        norm_cfg=None),
    teacher=dict(neck=None),
    teacher_bank=dict(type='EmbeddingQueue', length=128000),
    distill_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.04,
        teacher_temperature=0.04,
        divergence='kl'))
