# SEED: ResNet-18 student mimicking the similarities of a frozen MoCo-v2
# ResNet-50 teacher over a queue of 65,536 teacher embeddings; one view per
# image, 8 processes x 32 images, SGD lr 0.03, cosine, 200 epochs (the
# official SEED code's settings). No contrastive term, no key encoder.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
# Another teacher: replace the teacher base, the first of _base_ (see
# docs/teachers.md, "Swapping the teacher").
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_bs32_mocov2_one_view.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SEED',
    queue=dict(type='EmbeddingQueue', length=65536),
    backbone=dict(depth=18),
    # SEED's student head: Linear(C, C) -> ReLU -> Linear(C, D), D the
    # teacher's embedding width (128; its base sets out_channels).
    neck=dict(in_channels=512, hid_channels=512),
    distill_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.2,
        teacher_temperature=1e-4,
        divergence='cross_entropy'))
