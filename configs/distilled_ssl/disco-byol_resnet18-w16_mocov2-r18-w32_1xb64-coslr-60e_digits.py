# DisCo on BYOL, digits: the digits DisCo student's backbone (ResNet-18 of
# quarter width) trained with BYOL (projector and predictor 128-1024-128)
# plus DisCo's distillation from the digits MoCo-v2 teacher. Views, SGD
# schedule and 60 epochs are those of the digits DisCo config, so the two
# differ by the student's objective only.
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/models/distilled_ssl_resnet18.py',
]

digits_backbone = dict(
    _base_.resnet18, stem_channels=16, base_channels=16)
byol = _base_.byol_student
model = dict(
    _delete_=True,
    type='DistilledSelfSup',
    student=dict(
        byol,
        backbone=digits_backbone,
        neck=dict(byol.neck, in_channels=128, hid_channels=1024),
        head=dict(
            byol.head, predictor=dict(byol.head.predictor,
                                      hid_channels=1024))),
    teacher=_base_.model.teacher,
    **_base_.disco_distillation)
