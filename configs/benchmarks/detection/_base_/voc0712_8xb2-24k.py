# PASCAL VOC07+12 detection transfer as MoCo (and DisCo) run it: train on
# VOC2007 + VOC2012 trainval, test on VOC2007 test; 24k iterations of
# 8 GPUs x 2 images, lr 0.02 (100-iteration warm-up) x0.1 at 18k and 22k;
# train short side 480-800. AP over IoU 0.50:0.95, AP50 and AP75 with
# VOC2007's 11-point metric. Data under data/VOCdevkit/.
_base_ = './detection_8xb2.py'

data_root = 'data/VOCdevkit/'
train_pipeline = _base_.load_annotated_image + [
    dict(
        type='RandomChoiceResize',
        scales=[(1333, short) for short in range(480, 801, 32)],
        keep_ratio=True)
] + _base_.flip_and_pack

train_dataloader = dict(
    sampler=dict(type='InfiniteSampler'),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(
                type='VOCDataset',
                data_root=data_root,
                ann_file=f'VOC{year}/ImageSets/Main/trainval.txt',
                data_prefix=dict(sub_data_root=f'VOC{year}/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=32),
                pipeline=train_pipeline) for year in (2007, 2012)
        ]))
val_dataloader = dict(
    dataset=dict(
        type='VOCDataset',
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        pipeline=_base_.test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='VOCMetric',
    metric='mAP',
    eval_mode='11points',
    iou_thrs=[round(0.5 + 0.05 * step, 2) for step in range(10)])
test_evaluator = val_evaluator

train_cfg = dict(type='IterBasedTrainLoop', max_iters=24000, val_interval=2000)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, end=100),
    dict(type='MultiStepLR', by_epoch=False, milestones=[18000, 22000])
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2000))
log_processor = dict(by_epoch=False)
