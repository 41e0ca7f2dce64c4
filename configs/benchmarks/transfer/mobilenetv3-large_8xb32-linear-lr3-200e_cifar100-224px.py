# Transfer of DisCo's mobilenetv3-large student: a linear probe on CIFAR100
# upsampled to 224 px.
_base_ = [
    './_base_/cifar100-224px_linear-lr3-200e.py',
    '../_base_/students/mobilenetv3-large.py',
]

model = dict(
    backbone=_base_.student_backbone,
    head=dict(in_channels=_base_.student_feature_width))
