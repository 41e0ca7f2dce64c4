# A frozen MoCo-v2 ResNet-50 teacher (backbone and projector of
# ../models/mocov2_resnet50.py) with the same backbone and projector as the
# student, neutral to the method (no head, key encoder or queue): a
# distillation config takes this base, sets the algorithm, its components
# and its loss and narrows the student (depth, widths).
_base_ = '../models/mocov2_resnet50.py'

# Read by the methods' configs: the teacher's name in the files made
# from it (BINGO's bags) and the width of its pooled backbone feature,
# which a method distils without the projector (teacher neck=None).
teacher_name = 'mocov2-r50'
teacher_feature_width = 2048

model = dict(
    _delete_=True,
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    teacher=dict(
        type='FrozenTeacher',
        # mmpretrain's MoCo-v2 ResNet-50 (200 epochs), or any checkpoint
        # with the same backbone.* and neck.* keys. Override with
        # --cfg-options model.teacher.checkpoint=PATH.
        checkpoint='checkpoints/mocov2_resnet50_8xb32-coslr-200e_in1k.pth',
        backbone={{_base_.model.backbone}},
        neck={{_base_.model.neck}}))
