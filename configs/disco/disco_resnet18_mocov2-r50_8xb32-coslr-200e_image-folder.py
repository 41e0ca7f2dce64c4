# DisCo on your own images: the ImageNet recipe of
# ./disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py on any folder of
# images (sub-folders allowed, no labels needed). Every image is checked
# when the run starts (docs/reliability.md). Set the folder and the teacher:
#   --cfg-options train_dataloader.dataset.data_root=data/my_images
#   model.teacher.checkpoint=PATH
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/models/disco_objective.py',
    '../_base_/datasets/folder_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    **_base_.disco_objective,
    backbone=dict(depth=18),
    # the widened projector (hidden 2048) of the paper
    neck=dict(in_channels=512, hid_channels=2048))
