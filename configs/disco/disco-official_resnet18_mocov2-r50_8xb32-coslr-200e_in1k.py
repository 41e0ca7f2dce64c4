# The official DisCo code's behaviour, for reproducing its numbers exactly:
# the teacher's BatchNorm runs on batch statistics (train mode), the
# distillation is the plain sum over whatever per-process batch is used, the
# student's queue starts as the MoCo teacher checkpoint's queue and is put
# back at every resume, and the weights keep PyTorch's default memory format
# (float32 rounding as the official code's). Unlike the official code the
# teacher checkpoint must still load in full (docs/method.md, section 2.5).
_base_ = './disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'

model = dict(
    teacher=dict(bn_train_mode=True),
    distill_loss=dict(sum_batch_size=None),
    queue_from_teacher=True,
    channels_last=False)
