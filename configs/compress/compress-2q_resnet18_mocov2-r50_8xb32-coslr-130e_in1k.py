# CompRess-2q: ResNet-18 student whose similarity distribution over a bank of
# its momentum encoder's embeddings matches the frozen MoCo-v2 ResNet-50
# teacher's over a bank of teacher embeddings of the same images (128,000
# each, temperature 0.04, KL). One view per image, 8 processes x 32 images,
# SGD lr 0.05, cosine, 130 epochs. No contrastive term.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_bs32_mocov2_one_view.py',
    '../_base_/schedules/imagenet_sgd_coslr_130e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='CompRess2q',
    teacher_bank=dict(type='EmbeddingQueue', length=128000),
    student_bank=dict(type='EmbeddingQueue', length=128000),
    key_encoder=dict(type='MomentumEncoder', momentum=0.999),
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=512),
    distill_loss=dict(
        type='SimilarityDistillLoss',
        student_temperature=0.04,
        teacher_temperature=0.04,
        divergence='kl'))
