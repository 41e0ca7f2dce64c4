# Linear probe of DisCo's resnet34 student with DisCo's schedule
# (lr 3.0 halved at epochs 5, 10, ..., 45, 60, 80): the paper's protocol.
_base_ = [
    './_base_/linear-disco-lr3-halving-100e_in1k.py',
    '../_base_/students/resnet34.py',
]

model = dict(
    backbone=_base_.student_backbone,
    head=dict(in_channels=_base_.student_feature_width))
