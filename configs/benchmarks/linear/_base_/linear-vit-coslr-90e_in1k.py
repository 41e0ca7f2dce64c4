# mmpretrain's MoCo-v3 ViT linear-probe benchmark as it is: frozen
# backbone, linear head on the CLS token initialised N(0, 0.01), SGD lr 12
# (momentum 0.9, no weight decay) with cosine decay over 90 epochs,
# 8 processes x 128 images; train RandomResizedCrop 224 (PIL) + flip, val
# resize 256 + center crop 224. Only disco_mm's components are added: a
# student replaces its MoCoV3ViT, and as a TimmPooledBackbone gives its
# feature as an NxCx1x1 map, GlobalAveragePooling flattens it for the head.
_base_ = ('mmpretrain::mocov3/benchmarks/'
          'vit-small-p16_8xb128-linear-coslr-90e_in1k.py')

custom_imports = dict(imports=['disco_mm'], allow_failed_imports=False)
# Complete checkpoints with their checksums, and tools/dist_train.sh with
# several processes on machines without a GPU (docs/reliability.md).
runner_type = 'ReliableRunner'

model = dict(neck=dict(type='GlobalAveragePooling'))
