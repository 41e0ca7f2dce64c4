# BINGO on digits: the digits DisCo student (ResNet-18 of quarter width,
# projector hidden width 1024) and teacher (the digits MoCo-v2 ResNet-18 of
# half width), same views and 60-epoch schedule. Write the bags first:
#   python tools/analysis_tools/build_bingo_bags.py THIS_CONFIG \
#       work_dirs/mocov2_resnet18-w32_1xb64-coslr-100e_digits/epoch_100.pth
_base_ = '../_base_/teachers/mocov2_resnet18-w32_digits.py'

model = dict(
    type='BINGO',
    head=dict(
        type='ContrastiveHead',
        loss=dict(type='CrossEntropyLoss'),
        temperature=0.2),
    # the teacher's anchor keys; the teacher encodes the keys
    queue=dict(type='EmbeddingQueue', length=1024),
    backbone=dict(stem_channels=16, base_channels=16),
    neck=dict(in_channels=128),
    bag_weights=(0.5, 0.5),
    # About the official share of the run (11 of 200 epochs).
    own_key_only_epochs=3,
    cutmix_alpha=2.0)

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='NeighbourBagDataset',
        bag_file='work_dirs/bingo_bags/digits_mocov2-r18-w32_k5.npy',
        dataset={{_base_.train_dataloader.dataset}}))

# The plain 32 px image, as the evaluation sees it.
bag_pipeline = [dict(type='PackInputs')]
bag_size = 5
