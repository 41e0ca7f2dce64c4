# mmpretrain's MoCo-v2 linear-probe benchmark as it is: frozen backbone with
# every BatchNorm in eval mode, linear head initialised N(0, 0.01), SGD lr 30
# (momentum 0.9, no weight decay) x0.1 at epochs 60 and 80, 100 epochs,
# 8 processes x 32 images; train RandomResizedCrop 224 + flip, val resize 256
# + center crop 224. Only disco_mm's components are added.
_base_ = ('mmpretrain::mocov2/benchmarks/'
          'resnet50_8xb32-linear-steplr-100e_in1k.py')

custom_imports = dict(imports=['disco_mm'], allow_failed_imports=False)
# Complete checkpoints with their checksums, and tools/dist_train.sh with
# several processes on machines without a GPU (docs/reliability.md).
runner_type = 'ReliableRunner'

model = dict(backbone=dict(norm_eval=True))
