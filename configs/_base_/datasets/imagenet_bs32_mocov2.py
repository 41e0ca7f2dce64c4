# ImageNet, two MoCo-v2 views per image, 32 images per process.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32_mocov2.py'
