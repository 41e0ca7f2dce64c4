# SimReg on the digits demo: the student, teacher and schedule of
# ../disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py
# (quarter-width ResNet-18, lr 0.06, 60 epochs), one view per image. The
# prediction head 128 -> 256 -> 128 -> 256 -> 256 regresses the teacher's
# pooled 256-d backbone feature.
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/digits_knn_monitor.py'
]

model = dict(
    type='SimReg',
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(
        _delete_=True,
        type='PredictionMLPNeck',
        in_channels=128,
        hid_channels=256,
        out_channels=256,
        num_blocks=2),
    teacher=dict(neck=None),
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=1))

# Student and teacher see the same augmented image.
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MultiView', num_views=1,
             transforms=[{{_base_.view_pipeline}}]),
        dict(type='PackInputs')
    ]))
