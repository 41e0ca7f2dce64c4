# BINGO with the official code's teacher (haohang96/bingo): its BatchNorm is
# never put in eval mode, so it normalises each key batch (shuffled across
# processes) with that batch's statistics and updates its running
# statistics, which no output uses. Everything else is
# ./bingo_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py.
_base_ = './bingo_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'

model = dict(teacher=dict(bn_train_mode=True))
