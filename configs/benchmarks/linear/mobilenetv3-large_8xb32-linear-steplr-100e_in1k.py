# Linear probe of DisCo's mobilenetv3-large student with mmpretrain's schedule
# (lr 30, x0.1 at epochs 60 and 80).
_base_ = [
    './_base_/linear-steplr-100e_in1k.py',
    '../_base_/students/mobilenetv3-large.py',
]

model = dict(
    backbone=_base_.student_backbone,
    head=dict(in_channels=_base_.student_feature_width))
