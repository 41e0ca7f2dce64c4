# DisCo's timm `efficientnet_b0` student (pooled layout, 1280-d feature),
# frozen with every norm layer in eval mode, loaded from the last checkpoint
# of configs/disco/disco_efficientnet-b0_mocov2-r50_8xb32-coslr-200e_in1k.py.
# Another file: --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (_delete_: the student replaces the benchmark's ResNet.)
student_backbone = dict(
    _delete_=True,
    type='TimmPooledBackbone',
    model_name='efficientnet_b0',
    frozen=True,
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/'
        'disco_efficientnet-b0_mocov2-r50_8xb32-coslr-200e_in1k/'
        'epoch_200.pth',
        prefix='backbone.'))
student_feature_width = 1280
