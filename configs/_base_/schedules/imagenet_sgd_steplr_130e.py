# CompRess's schedule: SGD lr 0.01 for a global batch of 256, momentum 0.9,
# weight decay 1e-4, lr multiplied by 0.2 after epochs 90 and 120, 130
# epochs (the official train_student.py defaults).
_base_ = './imagenet_sgd_coslr_200e.py'

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[90, 120], gamma=0.2)
]
train_cfg = dict(max_epochs=130)
