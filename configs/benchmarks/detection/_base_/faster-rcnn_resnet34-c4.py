# Faster R-CNN C4 of ./faster-rcnn_resnet18-c4.py on DisCo's ResNet-34
# student (same widths: BasicBlock stages of 256 and 512 channels), from
# checkpoints/disco_resnet34_mmdet.pth written by
# tools/model_converters/to_mmdet.py.
_base_ = './faster-rcnn_resnet18-c4.py'

student = dict(checkpoint='checkpoints/disco_resnet34_mmdet.pth')
model = dict(
    backbone=dict(depth=34, init_cfg=student),
    roi_head=dict(shared_head=dict(depth=34, init_cfg=student)))
