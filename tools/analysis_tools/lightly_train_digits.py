"""Trains LightlyTrain's ``distillation`` on the digits, from the digits
teacher.

The LightlyTrain side of ``compare_lightly_train_digits.py``, which runs it
with an interpreter where lightly-train is installed
(``--lightly-python``). It imports nothing of disco_mm (mmpretrain does not
import beside lightly-train 0.18's transformers), so the digits student and
teacher are written here as plain torch modules: ResNet-18s of base width
16 and 32, as the digits configs build mmpretrain's ``ResNet``, under the
same parameter names (those of torchvision's ResNet too). Both reach
LightlyTrain as custom models through its model-wrapper interface
(``feature_dim``, ``forward_features``, ``forward_pool``, ``get_model``):
the student as ``model``, the teacher through
``method_args=dict(teacher=...)`` with its backbone weights read strictly
from ``--teacher``. Everything else is LightlyTrain's default for
``distillation`` (its version 3: mixup, the global and local losses, its
projectors, optimizer, schedule, augmentations and queue) at
``--epochs``, ``--batch-size`` and 32 px, fp32 on the CPU, telemetry off.
The trained student's backbone is written to ``--out`` (tensors only).
"""
import argparse
import os
from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

#: The digits' side in pixels.
IMAGE_SIZE = 32


class BasicBlock(nn.Module):
    """A ResNet basic block (two 3x3 convolutions) with its shortcut."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels,
                               channels,
                               3,
                               stride,
                               padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                nn.BatchNorm2d(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + shortcut)


class NarrowResNet18(nn.Module):
    """ResNet-18 whose stages are ``width`` x 1, 2, 4, 8 channels wide.

    Args:
        width (int): Channels of the stem and the first stage.
    """

    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, 2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, 2, padding=1)
        in_channels = width
        for stage in range(4):
            channels = width * 2**stage
            stride = 1 if stage == 0 else 2
            self.add_module(
                f'layer{stage + 1}',
                nn.Sequential(BasicBlock(in_channels, channels, stride),
                              BasicBlock(channels, channels, 1)))
            in_channels = channels
        self.width = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The last stage's feature map."""
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        for stage in range(4):
            x = getattr(self, f'layer{stage + 1}')(x)
        return x


class Wrapped(nn.Module):
    """A network seen through LightlyTrain's model-wrapper interface."""

    def __init__(self, network: NarrowResNet18) -> None:
        super().__init__()
        self.network = network

    def feature_dim(self) -> int:
        return self.network.width

    def forward_features(self, x: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {'features': self.network(x)}

    def forward_pool(self, x: Dict[str,
                                   torch.Tensor]) -> Dict[str, torch.Tensor]:
        return {
            'pooled_features': x['features'].mean(dim=(2, 3), keepdim=True)
        }

    def get_model(self) -> nn.Module:
        return self.network


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Train LightlyTrain\'s distillation on the digits')
    parser.add_argument('--images',
                        required=True,
                        help='folder of the digits training images')
    parser.add_argument('--teacher',
                        required=True,
                        help='the teacher backbone\'s state dict')
    parser.add_argument('--teacher-width', type=int, default=32)
    parser.add_argument('--student-width', type=int, default=16)
    parser.add_argument('--epochs', type=int, default=60)
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int)
    parser.add_argument('--work-dir',
                        required=True,
                        help='LightlyTrain\'s output folder')
    parser.add_argument('--out',
                        required=True,
                        help='where to write the student backbone')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    os.environ['LIGHTLY_TRAIN_EVENTS_DISABLED'] = '1'
    import lightly_train
    if args.threads:
        torch.set_num_threads(args.threads)
    teacher = NarrowResNet18(args.teacher_width)
    teacher.load_state_dict(
        torch.load(args.teacher, map_location='cpu', weights_only=True))
    torch.manual_seed(args.seed)
    student = NarrowResNet18(args.student_width)
    lightly_train.pretrain(out=args.work_dir,
                           data=args.images,
                           model=Wrapped(student),
                           method='distillation',
                           method_args=dict(teacher=Wrapped(teacher)),
                           epochs=args.epochs,
                           batch_size=args.batch_size,
                           num_workers=0,
                           accelerator='cpu',
                           devices=1,
                           precision='32-true',
                           float32_matmul_precision='highest',
                           transform_args=dict(image_size=(IMAGE_SIZE,
                                                           IMAGE_SIZE)),
                           overwrite=True,
                           seed=args.seed)
    torch.save(student.state_dict(), args.out)


if __name__ == '__main__':
    main()
