# DisCo's parts on top of a student and teacher of ../teachers/: MoCo-v2's
# contrastive part (as ../models/mocov2_resnet50.py) and the distillation
# term. A config whose model comes from a teacher fragment spreads it:
#   model = dict(**_base_.disco_objective, backbone=..., neck=...)
disco_objective = dict(
    type='DisCo',
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
    key_encoder=dict(type='MomentumEncoder', momentum=0.999),
    queue=dict(type='EmbeddingQueue', length=65536),
    # The official sum over 128 dims and 32 images per view, kept at that
    # weight for any per-process batch (see EmbeddingDistillLoss).
    distill_loss=dict(
        type='EmbeddingDistillLoss',
        reduction='sum',
        sum_batch_size=32,
        loss_weight=1.0))
