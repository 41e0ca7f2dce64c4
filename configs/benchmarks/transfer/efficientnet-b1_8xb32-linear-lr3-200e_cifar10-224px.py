# Transfer of DisCo's efficientnet-b1 student: a linear probe on CIFAR10
# upsampled to 224 px.
_base_ = [
    './_base_/cifar10-224px_linear-lr3-200e.py',
    '../_base_/students/efficientnet-b1.py',
]

model = dict(
    backbone=_base_.student_backbone,
    head=dict(in_channels=_base_.student_feature_width))
