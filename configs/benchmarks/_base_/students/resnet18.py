# DisCo's ResNet-18 student (512-d feature) for the benchmarks, loaded from
# the last checkpoint of
# configs/disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py
# (a training checkpoint, or its export by extract_student.py).
# Another file: --cfg-options model.backbone.init_cfg.checkpoint=PATH
student_backbone = dict(
    type='ResNet',
    depth=18,
    init_cfg=dict(
        type='Pretrained',
        checkpoint='work_dirs/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k/'
        'epoch_200.pth',
        prefix='backbone.'))
student_feature_width = 512
