# SimReg: ResNet-18 student whose 4-layer prediction head regresses the
# pooled backbone feature of a frozen MoCo-v2 ResNet-50 teacher (2048-d,
# teacher_feature_width of its base; normalised MSE). One view per image,
# 8 processes x 32 images, SGD lr 0.05, weight decay 1e-4, cosine, 130
# epochs (the official SimReg code's defaults). The head is dropped after
# training.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
# Another teacher: replace the teacher base, the first of _base_ (see
# docs/teachers.md, "Swapping the teacher").
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_bs32_mocov2_one_view.py',
    '../_base_/schedules/imagenet_sgd_coslr_130e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='SimReg',
    backbone=dict(depth=18),
    # C -> 2C -> BN -> ReLU -> C -> 2C -> BN -> ReLU -> the teacher's width
    neck=dict(
        _delete_=True,
        type='PredictionMLPNeck',
        in_channels=512,
        hid_channels=1024,
        out_channels=_base_.teacher_feature_width,
        num_blocks=2),
    # the teacher's pooled backbone feature, not its projection
    teacher=dict(neck=None),
    # the squared distance summed over dimensions (2 - 2 cos), averaged over
    # the batch
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=1,
        loss_weight=1.0))
