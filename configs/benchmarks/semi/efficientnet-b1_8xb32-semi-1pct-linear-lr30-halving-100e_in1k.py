# Semi-supervised evaluation of DisCo's efficientnet-b1 student: a linear probe
# trained on 1% of ImageNet's labels.
_base_ = [
    './_base_/semi-1pct-linear-lr30-halving-100e_in1k.py',
    '../_base_/students/efficientnet-b1.py',
]

model = dict(
    backbone=_base_.student_backbone,
    head=dict(in_channels=_base_.student_feature_width))
