# COCO detection transfer of DisCo's resnet34 student with Faster R-CNN C4.
# First: python tools/model_converters/to_mmdet.py STUDENT.pth \
#     checkpoints/disco_resnet34_mmdet.pth
_base_ = [
    './_base_/faster-rcnn_resnet34-c4.py',
    './_base_/coco_8xb2-1x.py',
]
