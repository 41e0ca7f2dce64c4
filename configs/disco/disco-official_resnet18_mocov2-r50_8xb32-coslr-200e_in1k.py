# The official DisCo code's behaviour, for reproducing its numbers exactly:
# the teacher's BatchNorm runs on batch statistics (train mode) and the
# distillation is the plain sum over whatever per-process batch is used.
# Unlike the official code the teacher checkpoint must still load in full.
_base_ = './disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'

model = dict(
    teacher=dict(bn_train_mode=True),
    distill_loss=dict(sum_batch_size=None))
