# BINGO: ResNet-18 student, MoCo-v2 ResNet-50 teacher, 8 processes x 32
# images, 200 epochs on ImageNet, the paper's settings (tau 0.2, queue
# 65,536, projector 512-2048-128, bags of the 5 nearest neighbours).
# First write the bags (see configs/bingo/README.md):
#   python tools/analysis_tools/build_bingo_bags.py THIS_CONFIG TEACHER.pth
# Another teacher: replace the teacher base, the first of _base_ (see
# docs/teachers.md, "Swapping the teacher"); its bags are then a file
# of their own.
_base_ = [
    '../_base_/teachers/mocov2_resnet50.py',
    '../_base_/datasets/imagenet_bs32_mocov2.py',
    '../_base_/schedules/imagenet_sgd_coslr_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='BINGO',
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
    # the teacher's anchor keys; the teacher encodes the keys
    queue=dict(type='EmbeddingQueue', length=65536),
    backbone=dict(depth=18),
    neck=dict(in_channels=512, hid_channels=2048),
    bag_weights=(0.5, 0.5),
    own_key_only_epochs=11,
    cutmix_alpha=2.0)

# Each sample brings the two views of one image of its bag as well. The
# bags are the teacher's: their file is named after it.
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NeighbourBagDataset',
        bag_file='data/imagenet/bingo_bags_'
        f'{_base_.teacher_name}_k5.npy',
        dataset={{_base_.train_dataloader.dataset}}))

# How build_bingo_bags.py reads the training images for the teacher: one
# centred view, as the official bag building.
bag_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
bag_size = 5
