# The no-teacher baseline of the digits ViT student: the ViT of the digits
# MoCo-v3 teacher at half its width (96, 0.68M parameters, as the ResNet-18
# of quarter width's 0.70M) trained with MoCo-v3 alone, 60 epochs as the
# other digits students.
_base_ = [
    './mocov3_vit-w192-d6-p4_1xb64-adamw-coslr-100e_digits.py',
    '../_base_/digits_knn_monitor.py'
]

model = dict(
    backbone=dict(embed_dim=_base_.digits_vit_student.embed_dim),
    neck=dict(in_channels=_base_.digits_vit_student.embed_dim))

train_cfg = dict(max_epochs=60)
