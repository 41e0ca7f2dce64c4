# scikit-learn's digits at 32 px, one plain view, for frozen-feature
# evaluation: ``train`` fits the probe, ``test`` is the held-out split.
eval_pipeline = [dict(type='PackInputs')]

eval_train_dataloader = dict(
    batch_size=256,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='Digits', split='train', pipeline=eval_pipeline))

eval_test_dataloader = dict(
    batch_size=256,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='Digits', split='test', pipeline=eval_pipeline))
