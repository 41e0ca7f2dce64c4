# Semi-supervised evaluation of DisCo's efficientnet-b0 student: a linear probe
# trained on 10% of ImageNet's labels.
_base_ = [
    './_base_/semi-10pct-linear-lr30-halving-100e_in1k.py',
    '../_base_/students/efficientnet-b0.py',
]

model = dict(
    backbone=_base_.student_backbone,
    head=dict(in_channels=_base_.student_feature_width))
