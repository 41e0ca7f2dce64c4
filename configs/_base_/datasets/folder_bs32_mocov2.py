# Any folder of images (sub-folders allowed, no labels needed) through
# mmpretrain's CustomDataset, with the ImageNet MoCo-v2 two-view pipeline.
# Point it at your images with
#   --cfg-options train_dataloader.dataset.data_root=data/my_images
_base_ = './imagenet_bs32_mocov2.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CustomDataset',
        data_root='data/images/',
        with_label=False,
        pipeline={{_base_.train_pipeline}}))
