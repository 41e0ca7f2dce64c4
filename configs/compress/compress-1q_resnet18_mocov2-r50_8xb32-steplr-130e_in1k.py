# CompRess-1q as its official code (train_student_one_queue.py): one linear
# layer maps the ResNet-18 student's pooled feature (512-d) onto the width
# of the frozen MoCo-v2 ResNet-50 teacher's pooled backbone feature (2048-d,
# its projector removed); both are compared with one bank of 128,000 teacher
# features (temperature 0.04, KL). Data and schedule of the 2q config: one
# crop-and-flip view, SGD lr 0.01, x0.2 after epochs 90 and 120, 130 epochs.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './compress-2q_resnet18_mocov2-r50_8xb32-steplr-130e_in1k.py'

model = dict(
    _delete_=True,
    type='CompRess1q',
    backbone={{_base_.model.backbone}},
    # exactly Linear(512, 2048) on the pooled feature
    neck=dict(
        type='LinearNeck',
        in_channels=512,
        out_channels=2048,
        gap_dim=2,
        norm_cfg=None),
    teacher={{_base_.model.teacher}},
    teacher_bank={{_base_.model.teacher_bank}},
    distill_loss={{_base_.model.distill_loss}})
