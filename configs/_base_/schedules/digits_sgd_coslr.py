# SGD with the MoCo-v2 settings, lr scaled linearly to a batch of 64, cosine
# decay per epoch over the whole run: the scheduler ends with
# train_cfg.max_epochs, so `--cfg-options train_cfg.max_epochs=N` is enough.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.06, weight_decay=1e-4, momentum=0.9))

param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True, begin=0)]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60)
