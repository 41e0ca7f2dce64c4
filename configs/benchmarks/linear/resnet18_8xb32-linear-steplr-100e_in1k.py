# Linear probe of DisCo's resnet18 student with mmpretrain's schedule
# (lr 30, x0.1 at epochs 60 and 80).
_base_ = [
    './_base_/linear-steplr-100e_in1k.py',
    '../_base_/students/resnet18.py',
]

model = dict(
    backbone=_base_.student_backbone,
    head=dict(in_channels=_base_.student_feature_width))
