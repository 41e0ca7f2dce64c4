# A CNN student from a transformer teacher on digits: the digits DisCo
# student (ResNet-18 of quarter width, projector widened to 1024) distilled
# from the digits MoCo-v3 ViT teacher
# (../mocov3/mocov3_vit-w192-d6-p4_1xb64-adamw-coslr-100e_digits.py). All
# else is the config distilled from the MoCo-v2 teacher,
# disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py.
_base_ = [
    './disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
    '../_base_/models/mocov3_vit_digits.py'
]

model = dict(
    teacher=dict(
        _delete_=True,
        type='FrozenTeacher',
        # Where `python tools/train.py` writes the teacher config's last
        # checkpoint: backbone.* and neck.* as every mmpretrain run.
        checkpoint='work_dirs/mocov3_vit-w192-d6-p4_1xb64-adamw-coslr-100e_'
        'digits/epoch_100.pth',
        format='mmpretrain',
        backbone=_base_.mocov3_digits.backbone,
        neck=_base_.mocov3_digits.neck,
        # float32 as every digits teacher (../_base_/teachers/
        # mocov2_resnet18-w32_digits.py)
        precision='fp32'))
