# CompRess-1q on the digits demo, built as the official code: one linear
# layer maps the student's pooled feature (128-d) onto the width of the
# digits teacher's pooled backbone feature (256-d, projector removed); both
# are compared with one bank of 1,024 teacher features. Data and schedule
# of the 2q digits config.
_base_ = './compress-2q_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py'

model = dict(
    _delete_=True,
    type='CompRess1q',
    backbone={{_base_.model.backbone}},
    # exactly Linear(128, 256) on the pooled feature
    neck=dict(
        type='LinearNeck',
        in_channels=128,
        out_channels=256,
        gap_dim=2,
        norm_cfg=None),
    teacher={{_base_.model.teacher}},
    teacher_bank={{_base_.model.teacher_bank}},
    distill_loss={{_base_.model.distill_loss}})
