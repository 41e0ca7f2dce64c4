# A transformer student from a CNN teacher on digits: the ViT of the digits
# MoCo-v3 baseline (6 blocks, 96 wide, 4 px patches, 0.68M parameters)
# distilled by DisCo from the digits MoCo-v2 teacher (ResNet-18 of half
# width). DisCo's parts and views are those of the ResNet-18 student's
# config (disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py);
# the optimiser is MoCo-v3's ViT recipe (AdamW with warm-up), as for the
# baseline ../mocov3/mocov3_vit-w96-d6-p4_1xb64-adamw-coslr-60e_digits.py.
_base_ = [
    './disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
    '../_base_/models/mocov3_vit_digits.py'
]

model = dict(
    backbone=dict(_base_.digits_vit_student, _delete_=True),
    neck=dict(in_channels=_base_.digits_vit_student.embed_dim))

optim_wrapper = dict(_base_.vit_optim_wrapper, _delete_=True)
param_scheduler = _base_.vit_param_scheduler
