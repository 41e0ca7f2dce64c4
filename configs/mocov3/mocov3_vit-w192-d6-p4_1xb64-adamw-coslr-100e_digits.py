# The digits transformer teacher: a timm ViT of 6 blocks, 192 wide, on 4 px
# patches (2.7M parameters, as the digits ResNet-18 teacher's 2.8M) trained
# with mmpretrain's MoCo-v3 on scikit-learn's digits in one process, 100
# epochs as the digits MoCo-v2 teacher. Views: the digits MoCo-v2 views.
_base_ = [
    '../_base_/models/mocov3_vit_digits.py',
    '../_base_/datasets/digits_bs64_mocov2.py',
    '../_base_/default_runtime.py',
]

model = _base_.mocov3_digits
optim_wrapper = _base_.vit_optim_wrapper
param_scheduler = _base_.vit_param_scheduler

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=100)
default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
