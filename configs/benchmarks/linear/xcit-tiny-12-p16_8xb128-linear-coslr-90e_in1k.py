# Linear probe of DisCo's XCiT-Tiny-12/16 student with mmpretrain's MoCo-v3
# ViT protocol (lr 12, cosine, 90 epochs, 8 x 128 images).
_base_ = [
    './_base_/linear-vit-coslr-90e_in1k.py',
    '../_base_/students/xcit-tiny-12-p16.py',
]

model = dict(
    backbone=_base_.student_backbone,
    head=dict(in_channels=_base_.student_feature_width))
