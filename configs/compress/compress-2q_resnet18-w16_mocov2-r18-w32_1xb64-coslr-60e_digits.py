# CompRess-2q on the digits demo, built as the official code: the student
# (the digits DisCo student's quarter-width ResNet-18) compares its raw
# pooled feature (128-d, no projector) with a bank of its momentum copy's
# features, the digits MoCo-v2 teacher its pooled backbone feature (256-d,
# projector removed) with a bank of teacher features; banks of 1,024,
# momentum 0.99 as the digits MoCo-v2 run. One view per image, cropped
# only: the official crop-and-flip at the digits' scale (crop area 20-100%
# as the digits views, no flip: a mirrored digit is another symbol). The
# schedule is the other digits students' (lr 0.06, cosine, 60 epochs).
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/digits_knn_monitor.py'
]

model = dict(
    type='CompRess2q',
    backbone=dict(stem_channels=16, base_channels=16),
    neck=None,
    teacher=dict(neck=None),
    teacher_bank=dict(type='EmbeddingQueue', length=1024),
    student_bank=dict(type='EmbeddingQueue', length=1024),
    key_encoder=dict(type='MomentumEncoder', momentum=0.99),
    distill_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.04,
        teacher_temperature=0.04,
        divergence='kl'))

# Student and teacher see the same cropped image.
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MultiView', num_views=1, transforms=[[
            dict(type='RandomResizedCrop', scale=32,
                 crop_ratio_range=(0.2, 1.), backend='pillow'),
        ]]),
        dict(type='PackInputs')
    ]))
