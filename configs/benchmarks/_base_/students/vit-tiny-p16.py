# DisCo's timm `vit_tiny_patch16_224` student (192-d CLS token after the
# last norm), frozen and in eval mode, loaded from the last checkpoint of
# configs/disco/disco_vit-tiny-p16_dino-vit-small-p16_8xb32-coslr-200e_in1k.py.
# Another file: --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (_delete_: the student replaces the benchmark's backbone.)
student_backbone = dict(
    _delete_=True,
    type='TimmPooledBackbone',
    model_name='vit_tiny_patch16_224',
    frozen=True,
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/'
        'disco_vit-tiny-p16_dino-vit-small-p16_8xb32-coslr-200e_in1k/'
        'epoch_200.pth',
        prefix='backbone.'))
student_feature_width = 192
