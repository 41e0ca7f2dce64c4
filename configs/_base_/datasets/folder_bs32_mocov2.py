# Any folder of images (sub-folders allowed, no labels needed) with the
# ImageNet MoCo-v2 two-view pipeline. Every image is checked when the run
# starts: an unreadable one stops it with the list, unless
# bad_image_policy='skip' leaves them out (docs/reliability.md).
# Point it at your images with
#   --cfg-options train_dataloader.dataset.data_root=data/my_images
_base_ = './imagenet_bs32_mocov2.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='CheckedCustomDataset',
        data_root='data/images/',
        with_label=False,
        bad_image_policy='raise',
        pipeline={{_base_.train_pipeline}}))
