# ImageNet, ONE view per image made of a random resized crop (224 px, area
# 8-100%) and a horizontal flip, nothing else, 32 images per process: the
# input of CompRess's official code (torchvision's RandomResizedCrop(224)
# and RandomHorizontalFlip()).
_base_ = './imagenet_bs32_mocov2.py'

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=1, transforms=[[
            dict(type='RandomResizedCrop', scale=224,
                 crop_ratio_range=(0.08, 1.), backend='pillow'),
            dict(type='RandomFlip', prob=0.5),
        ]]),
        dict(type='PackInputs')
    ]))
