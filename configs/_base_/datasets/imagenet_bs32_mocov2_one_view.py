# ImageNet, ONE MoCo-v2 view per image, 32 images per process: the input of
# distillation methods whose student and teacher see the same augmented
# image (SEED, CompRess, SimReg).
_base_ = './imagenet_bs32_mocov2.py'

train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='LoadImageFromFile'),
        dict(type='MultiView', num_views=1,
             transforms=[{{_base_.view_pipeline}}]),
        dict(type='PackInputs')
    ]))
