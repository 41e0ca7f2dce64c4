# LightlyTrain's `distillationv1` (./README.md): the global term alone (KL
# of the similarities to the queue of teacher CLS tokens), with the student,
# teacher, data and schedule of
# ./global-local_resnet18_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py
# and version 1's AdamW weight decay, 0. (Version 1's own default optimiser
# is LARS; see the README.)
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './global-local_resnet18_dinov2-vit-small-p14_8xb32-adamw-coslr-200e_in1k.py'

model = dict(local_loss=None)

optim_wrapper = dict(optimizer=dict(weight_decay=0.0))
