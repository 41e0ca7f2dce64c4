# DisCo's linear probe: the benchmark of ./linear-steplr-100e_in1k.py with
# SGD lr 3.0 halved at epochs 5, 10, ..., 45, 60 and 80 (the official
# main_lincls.py schedule behind the paper's linear-probe tables).
_base_ = './linear-steplr-100e_in1k.py'

optim_wrapper = dict(optimizer=dict(lr=3.0))
param_scheduler = [
    dict(
        type='MultiStepLR',
        by_epoch=True,
        milestones=[5, 10, 15, 20, 25, 30, 35, 40, 45, 60, 80],
        gamma=0.5)
]
