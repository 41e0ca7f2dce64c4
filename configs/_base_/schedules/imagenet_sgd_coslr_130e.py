# The schedule of the CompRess / SimReg code: SGD lr 0.05 for a global batch
# of 256, momentum 0.9, weight decay 1e-4, cosine decay per epoch with no
# warm-up, 130 epochs.
_base_ = './imagenet_sgd_coslr_200e.py'

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=130, by_epoch=True, begin=0, end=130)
]
train_cfg = dict(max_epochs=130)
