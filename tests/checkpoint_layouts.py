"""Checkpoints in the layouts of other code bases, and what they compute.

facebookresearch/moco, facebookresearch/swav and the official DisCo code
all store torchvision's ResNet names (``conv1``, ``bn1``,
``layer1.0.conv1``, ..., ``layer1.0.downsample.0``) with the projector in
place of the classifier. The layouts here are written out from those naming
rules, independently of mmpretrain, and :func:`original_embedding` computes
the original model's output from the tensors by name, so a test can check
that a teacher or student read by disco_mm computes the same.

Widths are tiny: a "ResNet-50" of stem 8 / base 8 has a 32-d feature.
"""
import copy
import math
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.registry import MODELS

#: Residual blocks per stage and whether they are bottlenecks.
RESNET_STAGES = {18: ([2, 2, 2, 2], False), 50: ([3, 4, 6, 3], True)}
BN_EPS = 1e-5
#: The teachers' ResNet-50 in disco_mm: stem 8, base 8, 256-d feature.
TINY_R50 = dict(type='ResNet', depth=50, stem_channels=8, base_channels=8)
#: disco_mm's projector for each projector layout.
NECK_TYPES = {'mlp': 'MoCoV2Neck', 'bn_mlp': 'BatchNormMLPNeck'}


def _batch_norm_shapes(name: str, channels: int) -> Dict[str, tuple]:
    """The entries of a BatchNorm layer of ``channels``."""
    shapes = {
        f'{name}.{entry}': (channels, )
        for entry in ('weight', 'bias', 'running_mean', 'running_var')
    }
    shapes[f'{name}.num_batches_tracked'] = ()
    return shapes


def resnet_layout(depth: int, stem_channels: int,
                  base_channels: int) -> Dict[str, tuple]:
    """Names and shapes of a torchvision-named ResNet without ``fc``.

    SwAV's ResNet-50wN has ``stem_channels = base_channels = 64 * N``.

    Args:
        depth (int): 18 or 50.
        stem_channels (int): Output width of ``conv1``.
        base_channels (int): Width of the first stage's blocks.

    Returns:
        dict: ``{name: shape}`` in torchvision's order.
    """
    blocks_per_stage, bottleneck = RESNET_STAGES[depth]
    expansion = 4 if bottleneck else 1
    shapes = {'conv1.weight': (stem_channels, 3, 7, 7)}
    shapes.update(_batch_norm_shapes('bn1', stem_channels))
    in_channels = stem_channels
    for stage, blocks in enumerate(blocks_per_stage):
        width = base_channels * 2**stage
        out_channels = width * expansion
        for index in range(blocks):
            block = f'layer{stage + 1}.{index}'
            if bottleneck:
                convs = [(in_channels, width, 1), (width, width, 3),
                         (width, out_channels, 1)]
            else:
                convs = [(in_channels, width, 3), (width, width, 3)]
            for number, (cin, cout, kernel) in enumerate(convs, 1):
                shapes[f'{block}.conv{number}.weight'] = (cout, cin, kernel,
                                                          kernel)
                shapes.update(_batch_norm_shapes(f'{block}.bn{number}', cout))
            stride = 2 if stage > 0 and index == 0 else 1
            if stride != 1 or in_channels != out_channels:
                shapes[f'{block}.downsample.0.weight'] = (out_channels,
                                                          in_channels, 1, 1)
                shapes.update(
                    _batch_norm_shapes(f'{block}.downsample.1', out_channels))
            in_channels = out_channels
    return shapes


def projector_layout(kind: str, in_channels: int, hid_channels: int,
                     out_channels: int) -> Dict[str, tuple]:
    """Names (inside the projector) and shapes of a projector.

    Args:
        kind (str): ``'mlp'``: MoCo's ``Linear, ReLU, Linear`` (indices 0,
            2); ``'bn_mlp'``: SwAV's ``Linear, BatchNorm1d, ReLU, Linear``
            (indices 0, 1, 3).
        in_channels (int): Feature width.
        hid_channels (int): Hidden width.
        out_channels (int): Embedding width.

    Returns:
        dict: ``{'0.weight': shape, ...}``.
    """
    last = 2 if kind == 'mlp' else 3
    shapes = {
        '0.weight': (hid_channels, in_channels),
        '0.bias': (hid_channels, ),
        f'{last}.weight': (out_channels, hid_channels),
        f'{last}.bias': (out_channels, ),
    }
    if kind == 'bn_mlp':
        shapes.update(_batch_norm_shapes('1', hid_channels))
    return dict(sorted(shapes.items()))


def random_tensors(shapes: Dict[str, tuple], prefix: str = '') -> dict:
    """Random weights of a layout, with BatchNorm statistics that matter.

    Convolution and linear weights are scaled by their fan-in so that deep
    features stay of order one.

    Args:
        shapes (dict): ``{name: shape}``.
        prefix (str): Put before every name. Defaults to ``''``.

    Returns:
        dict: ``{prefix + name: tensor}``.
    """
    tensors = {}
    for name, shape in shapes.items():
        if name.endswith('num_batches_tracked'):
            value = torch.tensor(100)
        elif name.endswith('running_var'):
            value = torch.rand(shape) + 0.5
        elif name.endswith(('running_mean', 'bias')):
            value = torch.randn(shape) * 0.1
        elif len(shape) == 1:  # BatchNorm weight
            value = 1 + torch.randn(shape) * 0.1
        else:
            value = torch.randn(shape) / math.sqrt(math.prod(shape[1:]))
        tensors[prefix + name] = value
    return tensors


def _batch_norm(state: dict, name: str, inputs: torch.Tensor) -> torch.Tensor:
    """Eval-mode BatchNorm with the statistics stored under ``name``."""
    return F.batch_norm(
        inputs,
        state[f'{name}.running_mean'],
        state[f'{name}.running_var'],
        state[f'{name}.weight'],
        state[f'{name}.bias'],
        training=False,
        eps=BN_EPS)


def resnet_feature(state: dict,
                   prefix: str,
                   images: torch.Tensor,
                   swav_stem: bool = False) -> torch.Tensor:
    """Pooled feature of a torchvision-named ResNet, in eval mode.

    The depth and widths are read from the tensors.

    Args:
        state (dict): Tensors by name.
        prefix (str): The ResNet's prefix in ``state``.
        images (torch.Tensor): NxCxHxW.
        swav_stem (bool): SwAV's stem: zero padding 1, then ``conv1`` with
            padding 2 (torchvision: padding 3). Defaults to False.

    Returns:
        torch.Tensor: NxC.
    """
    weights = {
        key[len(prefix):]: value
        for key, value in state.items() if key.startswith(prefix)
    }
    if swav_stem:
        x = F.conv2d(
            F.pad(images, (1, 1, 1, 1)),
            weights['conv1.weight'],
            stride=2,
            padding=2)
    else:
        x = F.conv2d(images, weights['conv1.weight'], stride=2, padding=3)
    x = F.max_pool2d(
        F.relu(_batch_norm(weights, 'bn1', x)), 3, stride=2, padding=1)
    for stage in range(1, 5):
        index = 0
        while f'layer{stage}.{index}.conv1.weight' in weights:
            block = f'layer{stage}.{index}'
            stride = 2 if stage > 1 and index == 0 else 1
            out, number = x, 1
            while f'{block}.conv{number}.weight' in weights:
                kernel = weights[f'{block}.conv{number}.weight']
                # torchvision strides the 3x3 convolution of each block
                out = F.conv2d(
                    out,
                    kernel,
                    stride=stride if kernel.shape[-1] == 3 else 1,
                    padding=kernel.shape[-1] // 2)
                if kernel.shape[-1] == 3:
                    stride = 1
                out = _batch_norm(weights, f'{block}.bn{number}', out)
                number += 1
                if f'{block}.conv{number}.weight' in weights:
                    out = F.relu(out)
            identity = x
            if f'{block}.downsample.0.weight' in weights:
                identity = _batch_norm(
                    weights, f'{block}.downsample.1',
                    F.conv2d(
                        x,
                        weights[f'{block}.downsample.0.weight'],
                        stride=2 if stage > 1 else 1))
            x = F.relu(out + identity)
            index += 1
    return x.mean(dim=(2, 3))


def projector_output(state: dict, prefix: str,
                     features: torch.Tensor) -> torch.Tensor:
    """Runs a ``Sequential`` projector stored under ``prefix``.

    Linear layers have 2-d weights, BatchNorm layers running statistics;
    an index without tensors is a ReLU.

    Args:
        state (dict): Tensors by name.
        prefix (str): The projector's prefix, e.g. ``'fc.'``.
        features (torch.Tensor): NxC.

    Returns:
        torch.Tensor: NxD.
    """
    indices = {
        int(key[len(prefix):].split('.')[0])
        for key in state if key.startswith(prefix)
    }
    x = features
    for index in range(max(indices) + 1):
        name = f'{prefix}{index}'
        if f'{name}.running_mean' in state:
            x = _batch_norm(state, name, x)
        elif f'{name}.weight' in state:
            x = F.linear(x, state[f'{name}.weight'], state[f'{name}.bias'])
        else:
            x = F.relu(x)
    return x


def original_embedding(state: dict,
                       encoder: str,
                       projector: str,
                       images: torch.Tensor,
                       swav_stem: bool = False) -> torch.Tensor:
    """The unit embedding a ResNet encoder with projector computes.

    Args:
        state (dict): Tensors by name.
        encoder (str): The encoder's prefix, e.g. ``'module.encoder_q.'``.
        projector (str): The projector's name inside the encoder, e.g.
            ``'fc.'``, or ``''`` for none (the pooled feature).
        images (torch.Tensor): NxCxHxW.
        swav_stem (bool): See :func:`resnet_feature`. Defaults to False.

    Returns:
        torch.Tensor: NxD, unit length.
    """
    feature = resnet_feature(state, encoder, images, swav_stem)
    if projector:
        feature = projector_output(state, encoder + projector, feature)
    return F.normalize(feature, dim=1)


def encoder_tensors(
    prefix: str,
    depth: int = 18,
    width: int = 8,
    projector: Tuple[str, str, int, int] = ('fc.', 'mlp', 16, 4)
) -> dict:
    """Random tensors of a ResNet encoder with its projector.

    Args:
        prefix (str): Put before every name, e.g. ``'module.encoder_q.'``.
        depth (int): 18 or 50. Defaults to 18.
        width (int): Stem and base width. Defaults to 8.
        projector (tuple): ``(name, kind, hidden, out)`` of the projector
            (see :func:`projector_layout`). Defaults to MoCo's ``fc`` MLP
            with hidden 16 and embedding 4.

    Returns:
        dict: The tensors.
    """
    expansion = 4 if RESNET_STAGES[depth][1] else 1
    name, kind, hidden, out = projector
    tensors = random_tensors(resnet_layout(depth, width, width), prefix)
    tensors.update(
        random_tensors(
            projector_layout(kind, 8 * width * expansion, hidden, out),
            prefix + name))
    return tensors


def tiny_neck(kind: str, in_channels: int = 256) -> dict:
    """Config of disco_mm's projector for a layout: hidden 16, output 4.

    Args:
        kind (str): ``'mlp'`` (MoCo) or ``'bn_mlp'`` (SwAV).
        in_channels (int): Feature width. Defaults to 256 (TINY_R50).

    Returns:
        dict: The neck config.
    """
    return dict(
        type=NECK_TYPES[kind],
        in_channels=in_channels,
        hid_channels=16,
        out_channels=4)


def moco_file(state: dict) -> dict:
    """Wraps a state dict as facebookresearch/moco and DisCo save it."""
    return dict(
        epoch=200,
        arch='resnet50',
        state_dict=state,
        optimizer=dict(state={}, param_groups=[dict(lr=0.0, params=[0])]))


def build_teacher(checkpoint: str,
                  backbone: dict,
                  neck: dict = None,
                  **kwargs) -> torch.nn.Module:
    """Builds a FrozenTeacher of the given parts from ``checkpoint``."""
    return MODELS.build(
        dict(
            type='FrozenTeacher',
            backbone=backbone,
            neck=neck,
            checkpoint=checkpoint,
            **kwargs))


def teacher_state_dict(backbone: dict, neck: dict) -> dict:
    """Builds a randomly initialised teacher and returns its weights.

    The BatchNorm running statistics are randomised too, so that a test can
    tell whether they were loaded.

    Args:
        backbone (dict): Config of the teacher backbone.
        neck (dict, optional): Config of the teacher projector, or None
            for a teacher without one.

    Returns:
        dict: ``backbone.*`` and ``neck.*`` tensors.
    """
    state = {}
    for prefix, cfg in (('backbone', backbone), ('neck', neck)):
        if cfg is None:
            continue
        module = MODELS.build(copy.deepcopy(cfg))
        for name, value in module.state_dict().items():
            if name.endswith('running_mean'):
                value = torch.randn_like(value) * 0.1
            elif name.endswith('running_var'):
                value = torch.rand_like(value) + 0.5
            state[f'{prefix}.{name}'] = value.clone()
    return state
