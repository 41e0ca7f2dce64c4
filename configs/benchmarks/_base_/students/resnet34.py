# DisCo's ResNet-34 student (512-d feature), loaded from the last checkpoint
# of configs/disco/disco_resnet34_mocov2-r50_8xb32-coslr-200e_in1k.py.
# Another file: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = './resnet18.py'

student_backbone = dict(
    depth=34,
    init_cfg=dict(
        checkpoint='work_dirs/disco_resnet34_mocov2-r50_8xb32-coslr-200e_in1k/'
        'epoch_200.pth'))
