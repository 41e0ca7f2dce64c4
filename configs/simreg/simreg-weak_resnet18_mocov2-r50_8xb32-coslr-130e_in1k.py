# SimReg with the official code's best augmentation (its run.sh:
# --single_aug --weak_weak): student and teacher see the same image, cropped
# (RandomResizedCrop 224, scale 0.2-1) and flipped, with no colour jitter,
# grayscale or blur. Everything else is
# ./simreg_resnet18_mocov2-r50_8xb32-coslr-130e_in1k.py.
_base_ = './simreg_resnet18_mocov2-r50_8xb32-coslr-130e_in1k.py'

weak_view_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        crop_ratio_range=(0.2, 1.),
        backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
]

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=1, transforms=[weak_view_pipeline]),
        dict(type='PackInputs')
    ]))
