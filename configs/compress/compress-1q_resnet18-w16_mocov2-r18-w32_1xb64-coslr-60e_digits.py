# CompRess-1q on the digits demo: as the 2q digits config, with the
# student's similarities taken over the teacher's own bank (no student bank,
# no momentum encoder).
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/digits_knn_monitor.py'
]

model = dict(
    type='CompRess1q',
    teacher_bank=dict(type='EmbeddingQueue', length=1024),
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=128),
    distill_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.04,
        teacher_temperature=0.04,
        divergence='kl'))

# Student and teacher see the same augmented image.
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MultiView', num_views=1,
             transforms=[{{_base_.view_pipeline}}]),
        dict(type='PackInputs')
    ]))
