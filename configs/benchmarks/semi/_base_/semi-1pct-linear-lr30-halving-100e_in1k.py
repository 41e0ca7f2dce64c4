# DisCo's semi-supervised protocol: the linear probe of
# ../../linear/_base_/linear-steplr-100e_in1k.py (frozen backbone, lr 30,
# 100 epochs) trained on the SimCLR 1% ImageNet subset (12,811 images),
# validated on the full val set, lr halved at epochs 60 and 80 (the
# official main_lincls_semi.py). The annotation file comes from
# tools/dataset_converters/semi_supervised_subset.py (docs/evaluation.md).
_base_ = '../../linear/_base_/linear-steplr-100e_in1k.py'

train_dataloader = dict(dataset=dict(ann_file='meta/train_1percent.txt'))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[60, 80], gamma=0.5)
]
