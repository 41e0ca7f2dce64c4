# DisCo's timm `mobilenetv3_large_100` student (pooled, then conv_head to a
# 1280-d feature), loaded from the last checkpoint of
# configs/disco/disco_mobilenetv3-large_mocov2-r50_8xb32-coslr-200e_in1k.py.
_base_ = './efficientnet-b0.py'

student_backbone = dict(
    model_name='mobilenetv3_large_100',
    init_cfg=dict(
        checkpoint='work_dirs/disco_mobilenetv3-large_mocov2-r50_8xb32-'
        'coslr-200e_in1k/epoch_200.pth'))
