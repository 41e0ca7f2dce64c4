# DisCo's CIFAR transfer protocol: the frozen-backbone linear probe of
# ../../linear/_base_/linear-steplr-100e_in1k.py on CIFAR-10, images
# upsampled to 224 (bicubic; train RandomResizedCrop 224 + flip), ImageNet's
# normalisation, SGD lr 3.0 without decay for 200 epochs, 8 x 32 images
# (the official cifar_main_lincls.py). The data are mmpretrain's CIFAR10
# files under data/cifar10 (cifar-10-batches-py); nothing is downloaded.
_base_ = '../../linear/_base_/linear-steplr-100e_in1k.py'

data_preprocessor = dict(num_classes=10, to_rgb=False)  # CIFAR loads RGB

train_pipeline = [
    dict(
        type='RandomResizedCrop',
        scale=224,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='Resize', scale=224, backend='pillow', interpolation='bicubic'),
    dict(type='PackInputs'),
]

cifar = dict(
    _delete_=True, type='CIFAR10', data_root='data/cifar10', download=False)
train_dataloader = dict(
    dataset=dict(cifar, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(cifar, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader

model = dict(head=dict(num_classes=10))

optim_wrapper = dict(optimizer=dict(lr=3.0))
param_scheduler = []
train_cfg = dict(max_epochs=200)
