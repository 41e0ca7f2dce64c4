# VOC07+12 detection transfer of DisCo's resnet34 student with Faster R-CNN C4.
# First: python tools/model_converters/to_mmdet.py STUDENT.pth \
#     checkpoints/disco_resnet34_mmdet.pth
_base_ = [
    './_base_/faster-rcnn_resnet34-c4.py',
    './_base_/voc0712_8xb2-24k.py',
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=20)))
