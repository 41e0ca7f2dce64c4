# SEED on the digits demo: the student, teacher and schedule of
# ../disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py
# (quarter-width ResNet-18, projector hidden 1024, queue 1,024, lr 0.06,
# 60 epochs), one view per image, SEED's temperatures.
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/digits_knn_monitor.py'
]

model = dict(
    type='SEED',
    queue=dict(type='EmbeddingQueue', length=1024),
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=128),
    distill_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.2,
        teacher_temperature=1e-4,
        divergence='cross_entropy'))

# Student and teacher see the same augmented image.
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MultiView', num_views=1,
             transforms=[{{_base_.view_pipeline}}]),
        dict(type='PackInputs')
    ]))
