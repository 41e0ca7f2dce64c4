# The CIFAR transfer protocol of ./cifar10-224px_linear-lr3-200e.py on
# CIFAR-100 (mmpretrain's CIFAR100 files under data/cifar100).
_base_ = './cifar10-224px_linear-lr3-200e.py'

data_preprocessor = dict(num_classes=100)
train_dataloader = dict(
    dataset=dict(type='CIFAR100', data_root='data/cifar100'))
val_dataloader = dict(
    dataset=dict(type='CIFAR100', data_root='data/cifar100'))
test_dataloader = val_dataloader

model = dict(head=dict(num_classes=100))
