# Online kNN top-1 of the student on digits (KnnMonitorHook, every 10
# epochs): bank = the 1,347 training images, queries = the 450 held-out ones,
# one plain view each. Switch it off with --cfg-options custom_hooks=[]
# (or custom_hooks.0.interval=1000); change the interval with
# --cfg-options custom_hooks.0.interval=5.
_base_ = './datasets/digits_eval.py'

custom_hooks = [
    dict(
        type='KnnMonitorHook',
        interval=10,
        k=20,
        temperature=0.07,
        feature='pooled',
        bank_dataloader={{_base_.eval_train_dataloader}},
        query_dataloader={{_base_.eval_test_dataloader}})
]
