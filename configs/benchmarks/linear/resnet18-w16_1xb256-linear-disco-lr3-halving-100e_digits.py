# Linear probe of the digits demo's DisCo student (ResNet-18 of quarter
# width, 128-d feature) on scikit-learn's digits: DisCo's linear-probe
# schedule, the backbone frozen and loaded with prefix='backbone.' from the
# last checkpoint of
# configs/disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py.
# One process, 1,347 training images (6 iterations an epoch); the held-out
# 450 are the val and test set. Images stay at 32 px.
_base_ = './_base_/linear-disco-lr3-halving-100e_in1k.py'

model = dict(
    backbone=dict(
        depth=18,
        stem_channels=16,
        base_channels=16,
        init_cfg=dict(
            checkpoint='work_dirs/'
            'disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits/'
            'epoch_60.pth')),
    head=dict(num_classes=10, in_channels=128))

data_preprocessor = dict(num_classes=10, to_rgb=False)

# The digits are in memory: loaded in the main process, so no persistent
# workers (mmpretrain's tools would otherwise ask for them).
digits = dict(_delete_=True, type='Digits', pipeline=[dict(type='PackInputs')])
train_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(digits, split='train'))
val_dataloader = dict(
    batch_size=256,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(digits, split='test'))
test_dataloader = val_dataloader

default_hooks = dict(logger=dict(interval=5))
randomness = dict(seed=0)
