# The semi-supervised protocol of ./semi-1pct-linear-lr30-halving-100e_in1k.py
# on the SimCLR 10% ImageNet subset (128,116 images).
_base_ = './semi-1pct-linear-lr30-halving-100e_in1k.py'

train_dataloader = dict(dataset=dict(ann_file='meta/train_10percent.txt'))
