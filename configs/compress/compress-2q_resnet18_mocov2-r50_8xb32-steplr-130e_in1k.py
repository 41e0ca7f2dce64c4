# CompRess-2q as its official code (train_student.py): the ResNet-18
# student's raw pooled feature (512-d, no projector) against a bank of its
# momentum copy's features (m 0.999), the frozen MoCo-v2 ResNet-50 teacher's
# pooled backbone feature (2048-d, its projector removed) against a bank of
# the teacher's features of the same images (128,000 each, temperature
# 0.04, KL). One crop-and-flip view per image, 8 processes x 32 images, SGD
# lr 0.01, x0.2 after epochs 90 and 120, 130 epochs. No contrastive term.
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
    type='CompRess2q',
    backbone=dict(depth=18),
    neck=None,
    teacher=dict(neck=None),
    teacher_bank=dict(type='EmbeddingQueue', length=128000),
    student_bank=dict(type='EmbeddingQueue', length=128000),
    key_encoder=dict(type='MomentumEncoder', momentum=0.999),
    distill_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.04,
        teacher_temperature=0.04,
        divergence='kl'))
