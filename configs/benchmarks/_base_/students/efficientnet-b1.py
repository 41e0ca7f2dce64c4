# DisCo's timm `efficientnet_b1` student (pooled layout, 1280-d feature),
# loaded from the last checkpoint of
# configs/disco/disco_efficientnet-b1_mocov2-r50_8xb32-coslr-200e_in1k.py.
_base_ = './efficientnet-b0.py'

student_backbone = dict(
    model_name='efficientnet_b1',
    init_cfg=dict(
        checkpoint='work_dirs/'
        'disco_efficientnet-b1_mocov2-r50_8xb32-coslr-200e_in1k/'
        'epoch_200.pth'))
