# The digits teacher (a MoCo-v2 ResNet-18 of half width) frozen, on the
# digits MoCo-v2 run it was trained with
# (../../mocov2/mocov2_resnet18-w32_1xb64-coslr-100e_digits.py: its
# backbone and projector as the student, without head, key encoder or
# queue; its views, optimiser and seed) and the students' 60 epochs: a
# digits distillation config takes this base, sets the algorithm, its
# components and its loss and narrows the student.
_base_ = '../../mocov2/mocov2_resnet18-w32_1xb64-coslr-100e_digits.py'

# Read by the methods' configs: the teacher's name in the files made
# from it (BINGO's bags) and the width of its pooled backbone feature,
# which a method distils without the projector (teacher neck=None).
teacher_name = 'mocov2-r18-w32'
teacher_feature_width = 256

model = dict(
    _delete_=True,
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    teacher=dict(
        type='FrozenTeacher',
        # Where `python tools/train.py` writes the teacher config's last
        # checkpoint; tools/digits_demo.py and
        # tools/analysis_tools/compare_methods.py set their own run's.
        checkpoint='work_dirs/mocov2_resnet18-w32_1xb64-coslr-100e_digits/'
        'epoch_100.pth',
        backbone={{_base_.model.backbone}},
        neck={{_base_.model.neck}},
        # float32 on every machine, as the digits figures of the docs were
        # measured ('auto', the default, is bf16 on CPUs with native
        # bfloat16 and would make them depend on the CPU).
        precision='fp32'))

# The students' schedule: 60 epochs against the teacher's 100, as the
# MoCo-v2-only baseline
# ../../mocov2/mocov2_resnet18-w16_1xb64-coslr-60e_digits.py.
train_cfg = dict(max_epochs=60)
