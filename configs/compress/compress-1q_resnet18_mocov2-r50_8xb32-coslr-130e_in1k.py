# CompRess-1q: as CompRess-2q, but the student's similarities are taken over
# the teacher's own bank, so there is no student bank and no momentum
# encoder.
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_bs32_mocov2_one_view.py',
    '../_base_/schedules/imagenet_sgd_coslr_130e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='CompRess1q',
    teacher_bank=dict(type='EmbeddingQueue', length=128000),
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512),
    distill_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.04,
        teacher_temperature=0.04,
        divergence='kl'))
