# DisCo's schedule: SGD lr 0.03 for a global batch of 256, momentum 0.9,
# weight decay 1e-4 on every student parameter, cosine decay per epoch with
# no warm-up, 200 epochs.
_base_ = 'mmpretrain::_base_/schedules/imagenet_sgd_coslr_200e.py'

auto_scale_lr = dict(base_batch_size=256)
