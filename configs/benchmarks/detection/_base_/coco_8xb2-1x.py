# COCO detection transfer: train on train2017, box AP on val2017; 12 epochs
# of 8 GPUs x 2 images, lr 0.02 (500-iteration warm-up) x0.1 after epochs 8
# and 11; train short side 640-800 (MoCo's 1x schedule). Data under
# data/coco/.
_base_ = './detection_8xb2.py'

data_root = 'data/coco/'
train_pipeline = _base_.load_annotated_image + [
    dict(
        type='RandomChoiceResize',
        scales=[(1333, short) for short in range(640, 801, 32)],
        keep_ratio=True)
] + _base_.flip_and_pack

train_dataloader = dict(
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    metric='bbox')
test_evaluator = val_evaluator

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=1)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, end=500),
    dict(type='MultiStepLR', by_epoch=True, milestones=[8, 11])
]
