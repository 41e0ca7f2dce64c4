# Proteus (./README.md) on the digits demo: the digits ViT student (6
# blocks, 96 wide, 4 px patches, 0.68M parameters), with the official
# students' layer scale (1.0 at start), regressing the digits MoCo-v3 ViT
# teacher (192 wide, ../mocov3/mocov3_vit-w192-d6-p4_1xb64-adamw-coslr-100e_digits.py;
# its CLS and patch tokens as they are, no projector): both see the same
# 8x8 grid of a 32 px image. Proteus' masking (half the images, half their
# patches) and three mean squared errors of weight 1; one digits view per
# image; the optimiser and schedule of the other digits ViT students
# (MoCo-v3's: AdamW lr 3e-4, weight decay 0.1, 10 warm-up epochs, cosine),
# 60 epochs of 64 images: this project's choice, not the official recipe.
_base_ = [
    '../_base_/teachers/mocov2_resnet18-w32_digits.py',
    '../_base_/models/mocov3_vit_digits.py',
    '../_base_/digits_knn_monitor.py'
]

mean_squared_error = dict(
    type='EmbeddingDistillLoss', reduction='mean', loss_weight=1.0)
model = dict(
    _delete_=True,
    type='Proteus',
    backbone=dict(_base_.digits_vit_student, init_values=1.0),
    teacher=dict(
        type='FrozenTeacher',
        # Where `python tools/train.py` writes the teacher config's last
        # checkpoint: backbone.* and neck.* as every mmpretrain run.
        checkpoint='work_dirs/mocov3_vit-w192-d6-p4_1xb64-adamw-coslr-100e_'
        'digits/epoch_100.pth',
        format='mmpretrain',
        backbone=_base_.mocov3_digits.backbone,
        neck=None,
        normalize=False,
        # float32 as every digits teacher (../_base_/teachers/
        # mocov2_resnet18-w32_digits.py)
        precision='fp32'),
    mask_probability=0.5,
    mask_ratio=0.5,
    token_loss=mean_squared_error,
    feature_loss=mean_squared_error,
    patch_loss=mean_squared_error)

# Student and teacher see the same augmented image.
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(type='MultiView', num_views=1,
             transforms=[{{_base_.view_pipeline}}]),
        dict(type='PackInputs')
    ]))

optim_wrapper = dict(_base_.vit_optim_wrapper, _delete_=True)
param_scheduler = _base_.vit_param_scheduler
