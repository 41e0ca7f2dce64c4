"""Released vision transformers: their layouts, and what they compute.

The layouts are written from the official code (facebookresearch/dino's
``vision_transformer.py``, facebookresearch/dinov2's
``models/vision_transformer.py`` and ``hub/backbones.py``,
facebookresearch/dinov3's ``models/vision_transformer.py``,
``models/convnext.py``, ``layers/`` and ``hub/backbones.py``,
facebookresearch/xcit's ``xcit.py``, facebookresearch/moco-v3's
``vits.py`` and ``moco/builder.py``), independently of timm, and the
functions here compute each model's output from the tensors by name in
plain torch, so that a test can check that a teacher read by disco_mm
computes the same. Shapes are the released models' (ViT-S: 384-d, 12
blocks); only the DINO prototypes, which no teacher reads, are narrower.
"""
import argparse
import math
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F

LAYER_NORM_EPS = 1e-6
BN_EPS = 1e-5
#: ViT-S of DINO, DINOv2 and MoCo-v3 (6 attention heads; MoCo-v3's 12).
VIT_S = dict(dim=384, depth=12)
#: XCiT-S12/16.
XCIT_S12 = dict(dim=384, depth=12, heads=8)
#: DINOv3's ViT-S/16 and ViT-B/16 (``dinov3_vits16``, ``dinov3_vitb16``).
DINOV3_VIT_S = dict(dim=384, depth=12, heads=6)
DINOV3_VIT_B = dict(dim=768, depth=12, heads=12)
#: What every released DINOv3 ViT has: 4 storage tokens, RoPE of base 100,
#: LayerNorm of eps 1e-5 (``'layernormbf16'``).
DINOV3_STORAGE_TOKENS = 4
DINOV3_ROPE_BASE = 100
DINOV3_LAYER_NORM_EPS = 1e-5
#: DINOv3's ConvNeXt-Tiny (``dinov3_convnext_tiny``).
CONVNEXT_TINY = dict(depths=(3, 3, 9, 3), dims=(96, 192, 384, 768))
#: DINO's head: hidden 2048, bottleneck 256 (3 layers).
DINO_HEAD = (2048, 256)
#: Width of the prototypes written into test files (65,536 in the
#: released files; they are dropped, so a narrower layer tests the same).
TEST_PROTOTYPES = 1024


def _layer_norm(name: str, dim: int) -> Dict[str, tuple]:
    return {f'{name}.weight': (dim, ), f'{name}.bias': (dim, )}


def _linear(name: str, dim_in: int, dim_out: int,
            bias: bool = True) -> Dict[str, tuple]:
    shapes = {f'{name}.weight': (dim_out, dim_in)}
    if bias:
        shapes[f'{name}.bias'] = (dim_out, )
    return shapes


def _batch_norm(name: str, dim: int, affine: bool = True) -> Dict[str, tuple]:
    shapes = {
        f'{name}.running_mean': (dim, ),
        f'{name}.running_var': (dim, ),
        f'{name}.num_batches_tracked': ()
    }
    if affine:
        shapes.update({f'{name}.weight': (dim, ), f'{name}.bias': (dim, )})
    return shapes


def _mlp(name: str, dim: int) -> Dict[str, tuple]:
    return {
        **_linear(f'{name}.fc1', dim, 4 * dim),
        **_linear(f'{name}.fc2', 4 * dim, dim)
    }


def vit_layout(dim: int,
               depth: int,
               patch: int,
               grid: int,
               layer_scale: bool = False,
               registers: int = 0,
               mask_token: bool = False) -> Dict[str, tuple]:
    """Names and shapes of DINO's / DINOv2's / MoCo-v3's ViT.

    Args:
        dim, depth (int): Width and blocks.
        patch (int): Patch size.
        grid (int): Patches per side at the training resolution (DINOv2:
            518 / 14 = 37).
        layer_scale (bool): DINOv2's ``ls1.gamma``, ``ls2.gamma``.
        registers (int): DINOv2's register tokens.
        mask_token (bool): DINOv2's mask token.

    Returns:
        dict: ``{name: shape}``.
    """
    shapes = {
        'cls_token': (1, 1, dim),
        'pos_embed': (1, grid * grid + 1, dim),
        'patch_embed.proj.weight': (dim, 3, patch, patch),
        'patch_embed.proj.bias': (dim, ),
    }
    if registers:
        shapes['register_tokens'] = (1, registers, dim)
    if mask_token:
        shapes['mask_token'] = (1, dim)
    for index in range(depth):
        block = f'blocks.{index}'
        shapes.update(_layer_norm(f'{block}.norm1', dim))
        shapes.update(_linear(f'{block}.attn.qkv', dim, 3 * dim))
        shapes.update(_linear(f'{block}.attn.proj', dim, dim))
        shapes.update(_layer_norm(f'{block}.norm2', dim))
        shapes.update(_mlp(f'{block}.mlp', dim))
        if layer_scale:
            shapes[f'{block}.ls1.gamma'] = (dim, )
            shapes[f'{block}.ls2.gamma'] = (dim, )
    shapes.update(_layer_norm('norm', dim))
    return shapes


def dinov3_vit_layout(dim: int, depth: int, heads: int,
                      patch: int = 16) -> Dict[str, tuple]:
    """Names and shapes of a released DINOv3 ViT backbone.

    The hub models are built with ``n_storage_tokens=4``,
    ``layerscale_init``, ``qkv_bias`` with ``mask_k_bias`` (a
    ``bias_mask`` buffer beside each ``qkv.bias``) and a mask token; the
    RoPE periods are a persistent buffer (head width / 4 of them).
    """
    shapes = {
        'cls_token': (1, 1, dim),
        'storage_tokens': (1, DINOV3_STORAGE_TOKENS, dim),
        'mask_token': (1, dim),
        'patch_embed.proj.weight': (dim, 3, patch, patch),
        'patch_embed.proj.bias': (dim, ),
        'rope_embed.periods': (dim // heads // 4, ),
    }
    for index in range(depth):
        block = f'blocks.{index}'
        shapes.update(_layer_norm(f'{block}.norm1', dim))
        shapes.update(_linear(f'{block}.attn.qkv', dim, 3 * dim))
        shapes[f'{block}.attn.qkv.bias_mask'] = (3 * dim, )
        shapes.update(_linear(f'{block}.attn.proj', dim, dim))
        shapes[f'{block}.ls1.gamma'] = (dim, )
        shapes.update(_layer_norm(f'{block}.norm2', dim))
        shapes.update(_mlp(f'{block}.mlp', dim))
        shapes[f'{block}.ls2.gamma'] = (dim, )
    shapes.update(_layer_norm('norm', dim))
    return shapes


def dinov3_vit_weights(dim: int, depth: int, heads: int,
                       seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random weights of :func:`dinov3_vit_layout` with its two buffers as
    the released files hold them.

    ``bias_mask`` is 1 for the query and value thirds and 0 for the key
    third (the bias itself is random in all three, so a reader that ignores
    the mask is caught); the periods are ``100 ** (2i / (head width / 2))``
    rounded to bfloat16, the type DINOv3 trains its RoPE in.
    """
    weights = random_weights(dinov3_vit_layout(dim, depth, heads), seed=seed)
    for index in range(depth):
        mask = torch.ones(3 * dim)
        mask[dim:2 * dim] = 0
        weights[f'blocks.{index}.attn.qkv.bias_mask'] = mask
    quarter = dim // heads // 4
    weights['rope_embed.periods'] = (DINOV3_ROPE_BASE**(
        2 * torch.arange(quarter, dtype=torch.float32) /
        (2 * quarter))).to(torch.bfloat16)
    return weights


def convnext_layout(depths: Tuple[int, ...],
                    dims: Tuple[int, ...]) -> Dict[str, tuple]:
    """Names and shapes of DINOv3's ConvNeXt backbone.

    ``downsample_layers.0`` is the stem (4x4 convolution, then a
    channels-first LayerNorm), ``downsample_layers.1-3`` a LayerNorm then a
    2x2 convolution; each block has a 7x7 depth-wise convolution, a
    LayerNorm, two linear layers and a layer scale ``gamma``. The final
    ``norm`` is saved a second time as ``norms.3`` (``norms`` lists it after
    three identities).
    """
    shapes = {
        'downsample_layers.0.0.weight': (dims[0], 3, 4, 4),
        'downsample_layers.0.0.bias': (dims[0], ),
        **_layer_norm('downsample_layers.0.1', dims[0]),
    }
    for stage in range(1, 4):
        shapes.update(_layer_norm(f'downsample_layers.{stage}.0',
                                  dims[stage - 1]))
        shapes[f'downsample_layers.{stage}.1.weight'] = (
            dims[stage], dims[stage - 1], 2, 2)
        shapes[f'downsample_layers.{stage}.1.bias'] = (dims[stage], )
    for stage, (depth, dim) in enumerate(zip(depths, dims)):
        for index in range(depth):
            block = f'stages.{stage}.{index}'
            shapes[f'{block}.dwconv.weight'] = (dim, 1, 7, 7)
            shapes[f'{block}.dwconv.bias'] = (dim, )
            shapes.update(_layer_norm(f'{block}.norm', dim))
            shapes.update(_linear(f'{block}.pwconv1', dim, 4 * dim))
            shapes.update(_linear(f'{block}.pwconv2', 4 * dim, dim))
            shapes[f'{block}.gamma'] = (dim, )
    shapes.update(_layer_norm('norm', dims[-1]))
    shapes.update(_layer_norm('norms.3', dims[-1]))
    return shapes


def convnext_weights(depths: Tuple[int, ...], dims: Tuple[int, ...],
                     seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random weights of :func:`convnext_layout`, ``norms.3`` being the
    final norm's tensors (one module under two names)."""
    weights = random_weights(convnext_layout(depths, dims), seed=seed)
    for leaf in ('weight', 'bias'):
        weights[f'norms.3.{leaf}'] = weights[f'norm.{leaf}']
    return weights


def xcit_layout(dim: int, depth: int, heads: int) -> Dict[str, tuple]:
    """Names and shapes of facebookresearch/xcit's XCiT, patch 16.

    Its convolutional patch embedding is four ``conv3x3`` (convolution
    without bias, then BatchNorm) of widths dim/8, dim/4, dim/2, dim with
    GELU between them (``proj.0, 2, 4, 6``); each block has cross-covariance
    attention with a temperature per head, a local patch interaction
    (depth-wise 3x3 convolutions around a BatchNorm) and three layer-scale
    vectors; two class-attention blocks follow.
    """
    widths = [3, dim // 8, dim // 4, dim // 2, dim]
    shapes = {'cls_token': (1, 1, dim)}
    for layer, (width_in, width_out) in enumerate(zip(widths[:-1],
                                                      widths[1:])):
        shapes[f'patch_embed.proj.{2 * layer}.0.weight'] = (width_out,
                                                            width_in, 3, 3)
        shapes.update(_batch_norm(f'patch_embed.proj.{2 * layer}.1',
                                  width_out))
    shapes['pos_embeder.token_projection.weight'] = (dim, 64, 1, 1)
    shapes['pos_embeder.token_projection.bias'] = (dim, )
    for index in range(depth):
        block = f'blocks.{index}'
        for gamma in ('gamma1', 'gamma2', 'gamma3'):
            shapes[f'{block}.{gamma}'] = (dim, )
        shapes.update(_layer_norm(f'{block}.norm1', dim))
        shapes[f'{block}.attn.temperature'] = (heads, 1, 1)
        shapes.update(_linear(f'{block}.attn.qkv', dim, 3 * dim))
        shapes.update(_linear(f'{block}.attn.proj', dim, dim))
        shapes.update(_layer_norm(f'{block}.norm2', dim))
        shapes.update(_mlp(f'{block}.mlp', dim))
        shapes.update(_layer_norm(f'{block}.norm3', dim))
        for conv in ('conv1', 'conv2'):
            shapes[f'{block}.local_mp.{conv}.weight'] = (dim, 1, 3, 3)
            shapes[f'{block}.local_mp.{conv}.bias'] = (dim, )
        shapes.update(_batch_norm(f'{block}.local_mp.bn', dim))
    for index in range(2):
        block = f'cls_attn_blocks.{index}'
        shapes[f'{block}.gamma1'] = (dim, )
        shapes[f'{block}.gamma2'] = (dim, )
        shapes.update(_layer_norm(f'{block}.norm1', dim))
        shapes.update(_linear(f'{block}.attn.qkv', dim, 3 * dim))
        shapes.update(_linear(f'{block}.attn.proj', dim, dim))
        shapes.update(_layer_norm(f'{block}.norm2', dim))
        shapes.update(_mlp(f'{block}.mlp', dim))
    shapes.update(_layer_norm('norm', dim))
    return shapes


def dino_head_layout(dim: int, prototypes: int = TEST_PROTOTYPES
                     ) -> Dict[str, tuple]:
    """DINOHead: ``mlp.0, 2, 4`` and the weight-normed prototypes."""
    hidden, bottleneck = DINO_HEAD
    return {
        **_linear('mlp.0', dim, hidden),
        **_linear('mlp.2', hidden, hidden),
        **_linear('mlp.4', hidden, bottleneck),
        'last_layer.weight_g': (prototypes, 1),
        'last_layer.weight_v': (prototypes, bottleneck),
    }


def mocov3_projector_layout(dim: int, hidden: int = 4096,
                            out: int = 256) -> Dict[str, tuple]:
    """MoCo-v3's ViT projector: 3 bias-free Linear, BN, the last without
    affine; indices 0, 1 (BN), 3, 4 (BN), 6, 7 (BN)."""
    return {
        **_linear('0', dim, hidden, bias=False),
        **_batch_norm('1', hidden),
        **_linear('3', hidden, hidden, bias=False),
        **_batch_norm('4', hidden),
        **_linear('6', hidden, out, bias=False),
        **_batch_norm('7', out, affine=False),
    }


def random_weights(shapes: Dict[str, tuple], prefix: str = '',
                   seed: int = 0) -> Dict[str, torch.Tensor]:
    """Random weights that keep a deep transformer's activations of order 1.

    Matrices and convolutions are scaled by their fan-in, tokens and
    position embeddings are of order 1 (so that a wrong resize shows), norm
    weights and layer scales are near 1, temperatures positive.
    """
    generator = torch.Generator().manual_seed(seed)

    def randn(shape):
        return torch.randn(shape, generator=generator)

    tensors = {}
    for name, shape in shapes.items():
        leaf = name.rsplit('.', 1)[-1]
        if leaf == 'num_batches_tracked':
            value = torch.tensor(100)
        elif leaf in ('running_var', 'temperature', 'weight_g'):
            value = torch.rand(shape, generator=generator) + 0.5
        elif leaf in ('running_mean', 'bias'):
            value = randn(shape) * 0.1
        elif name.endswith(('_token', 'tokens', 'pos_embed')):
            value = randn(shape) * 0.5
        elif len(shape) == 1:  # norm weights, layer scales
            value = 1 + randn(shape) * 0.1
        else:
            value = randn(shape) / math.sqrt(math.prod(shape[1:]))
        tensors[prefix + name] = value
    return tensors


def dino_full_checkpoint(backbone: Dict[str, torch.Tensor],
                         head: Dict[str, torch.Tensor],
                         wrapped_teacher: bool = False,
                         with_args: bool = False) -> dict:
    """A checkpoint as DINO's ``main_dino.py`` saves it.

    The student is DDP-wrapped (``module.``), the teacher only when its
    backbone has BatchNorm (XCiT). The student's tensors are the teacher's
    (saved once); the optimizer state is a stub.

    Args:
        backbone (dict): The backbone's tensors.
        head (dict): The DINO head's tensors.
        wrapped_teacher (bool): ``teacher.module.*``. Defaults to False.
        with_args (bool): Keep ``args`` (an ``argparse.Namespace``, which
            ``weights_only`` loading refuses); without it the file is the
            tensors-only copy. Defaults to False.
    """
    parts = {
        **{f'backbone.{key}': value for key, value in backbone.items()},
        **{f'head.{key}': value for key, value in head.items()}
    }
    teacher_prefix = 'module.' if wrapped_teacher else ''
    checkpoint = dict(
        student={f'module.{key}': value for key, value in parts.items()},
        teacher={teacher_prefix + key: value for key, value in parts.items()},
        optimizer=dict(state={}, param_groups=[dict(lr=0.0, params=[0])]),
        epoch=100,
        dino_loss=dict(center=torch.zeros(1, TEST_PROTOTYPES)))
    if with_args:
        checkpoint['args'] = argparse.Namespace(arch='vit_small')
    return checkpoint


def _tensors(state: dict, prefix: str) -> Dict[str, torch.Tensor]:
    return {
        key[len(prefix):]: value
        for key, value in state.items() if key.startswith(prefix)
    }


def _ln(w: dict, name: str, x: torch.Tensor,
        eps: float = LAYER_NORM_EPS) -> torch.Tensor:
    return F.layer_norm(x, x.shape[-1:], w[f'{name}.weight'],
                        w[f'{name}.bias'], eps)


def _bn(w: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.batch_norm(
        x,
        w[f'{name}.running_mean'],
        w[f'{name}.running_var'],
        w.get(f'{name}.weight'),
        w.get(f'{name}.bias'),
        training=False,
        eps=BN_EPS)


def _lin(w: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, w[f'{name}.weight'], w.get(f'{name}.bias'))


def _mlp_out(w: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    return _lin(w, f'{name}.fc2', F.gelu(_lin(w, f'{name}.fc1', x)))


def official_pos_embed(pos_embed: torch.Tensor, grid: Tuple[int, int],
                       offset: float, antialias: bool) -> torch.Tensor:
    """``interpolate_pos_encoding`` of DINO and DINOv2.

    Unchanged when the grid is the trained one; otherwise the patch
    embeddings are resized bicubically, with the scale factor ``(grid +
    offset) / trained grid`` when there is an offset (DINO; DINOv2 without
    registers) and to the grid's size without one (DINOv2's ``_reg``
    models, antialiased).
    """
    trained = math.isqrt(pos_embed.shape[1] - 1)
    if (trained, trained) == tuple(grid):
        return pos_embed
    patches = pos_embed[:, 1:].reshape(1, trained, trained, -1).permute(
        0, 3, 1, 2)
    if offset:
        kwargs = dict(scale_factor=((grid[0] + offset) / trained,
                                    (grid[1] + offset) / trained))
    else:
        kwargs = dict(size=grid)
    patches = F.interpolate(
        patches, mode='bicubic', antialias=antialias, **kwargs)
    assert tuple(patches.shape[-2:]) == tuple(grid)
    patches = patches.permute(0, 2, 3, 1).reshape(1, -1, pos_embed.shape[-1])
    return torch.cat([pos_embed[:, :1], patches], dim=1)


def vit_tokens(state: dict,
               prefix: str,
               images: torch.Tensor,
               heads: int,
               offset: float = 0.1,
               antialias: bool = False) -> torch.Tensor:
    """The normalised output tokens of an official ViT (DINO, DINOv2,
    MoCo-v3), in eval mode: CLS, [registers], patches.

    Args:
        state (dict): Tensors by name.
        prefix (str): The ViT's prefix in ``state``.
        images (torch.Tensor): NxCxHxW.
        heads (int): Attention heads.
        offset (float): See :func:`official_pos_embed`. Defaults to 0.1.
        antialias (bool): See :func:`official_pos_embed`. Defaults to
            False.

    Returns:
        torch.Tensor: NxTxD.
    """
    w = _tensors(state, prefix)
    kernel = w['patch_embed.proj.weight']
    x = F.conv2d(images, kernel, w['patch_embed.proj.bias'],
                 stride=kernel.shape[-1])
    grid = tuple(x.shape[-2:])
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([w['cls_token'].expand(len(x), -1, -1), x], dim=1)
    x = x + official_pos_embed(w['pos_embed'], grid, offset, antialias)
    if 'register_tokens' in w:
        x = torch.cat(
            [x[:, :1], w['register_tokens'].expand(len(x), -1, -1), x[:, 1:]],
            dim=1)
    batch, tokens, dim = x.shape
    index = 0
    while f'blocks.{index}.norm1.weight' in w:
        block = f'blocks.{index}'
        qkv = _lin(w, f'{block}.attn.qkv', _ln(w, f'{block}.norm1', x))
        q, k, v = qkv.reshape(batch, tokens, 3, heads,
                              dim // heads).permute(2, 0, 3, 1, 4)
        attention = (q @ k.transpose(-2, -1) * (dim // heads)**-0.5).softmax(
            dim=-1)
        y = (attention @ v).transpose(1, 2).reshape(batch, tokens, dim)
        y = _lin(w, f'{block}.attn.proj', y)
        x = x + y * w.get(f'{block}.ls1.gamma', 1.0)
        y = _mlp_out(w, f'{block}.mlp', _ln(w, f'{block}.norm2', x))
        x = x + y * w.get(f'{block}.ls2.gamma', 1.0)
        index += 1
    return _ln(w, 'norm', x)


def dinov3_rope(periods: torch.Tensor, height: int,
                width: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """DINOv3's RoPE sines and cosines of a height x width patch grid.

    Each patch's centre ``(i + 0.5) / height``, ``(j + 0.5) / width`` is
    mapped to [-1, 1] (``normalize_coords='separate'``); the angles are
    ``2 pi coordinate / period`` for every period, first of the row, then of
    the column coordinate, and the list is repeated twice to span a head.

    Returns:
        tuple: ``(sin, cos)``, each (height * width) x head width.
    """
    rows = torch.arange(0.5, height) / height
    columns = torch.arange(0.5, width) / width
    coordinates = torch.stack(
        torch.meshgrid(rows, columns, indexing='ij'), dim=-1).flatten(0, 1)
    coordinates = 2 * coordinates - 1
    angles = 2 * math.pi * coordinates[:, :, None] / periods[None, None, :]
    angles = angles.flatten(1).tile(2)
    return angles.sin(), angles.cos()


def _rotate(x: torch.Tensor, sin: torch.Tensor,
            cos: torch.Tensor) -> torch.Tensor:
    """Rotates the last ``len(sin)`` tokens by RoPE: x cos + (-x2, x1) sin."""
    prefix, grid = x[..., :-len(sin), :], x[..., -len(sin):, :]
    first, second = grid.chunk(2, dim=-1)
    rotated = grid * cos + torch.cat([-second, first], dim=-1) * sin
    return torch.cat([prefix, rotated], dim=-2)


def dinov3_vit_tokens(state: dict, prefix: str, images: torch.Tensor,
                      heads: int) -> torch.Tensor:
    """The normalised output tokens of DINOv3's ViT in eval mode: CLS, the
    storage tokens, the patches.

    Args:
        state (dict): Tensors by name, in the official names.
        prefix (str): The ViT's prefix in ``state``.
        images (torch.Tensor): NxCxHxW.
        heads (int): Attention heads.

    Returns:
        torch.Tensor: NxTxD.
    """
    w = _tensors(state, prefix)
    kernel = w['patch_embed.proj.weight']
    x = F.conv2d(images, kernel, w['patch_embed.proj.bias'],
                 stride=kernel.shape[-1])
    sin, cos = dinov3_rope(w['rope_embed.periods'].float(), *x.shape[-2:])
    x = x.flatten(2).transpose(1, 2)
    batch = len(x)
    x = torch.cat([
        w['cls_token'].expand(batch, -1, -1),
        w['storage_tokens'].expand(batch, -1, -1), x
    ], dim=1)
    tokens, dim = x.shape[1:]
    for index in range(len({k.split('.')[1]
                            for k in w if k.startswith('blocks.')})):
        block = f'blocks.{index}'
        normed = _ln(w, f'{block}.norm1', x, DINOV3_LAYER_NORM_EPS)
        bias = (w[f'{block}.attn.qkv.bias'] *
                w[f'{block}.attn.qkv.bias_mask'])
        qkv = F.linear(normed, w[f'{block}.attn.qkv.weight'], bias)
        q, k, v = qkv.reshape(batch, tokens, 3, heads,
                              dim // heads).permute(2, 0, 3, 1, 4)
        q, k = _rotate(q, sin, cos), _rotate(k, sin, cos)
        attention = (q @ k.transpose(-2, -1) * (dim // heads)**-0.5).softmax(
            dim=-1)
        y = (attention @ v).transpose(1, 2).reshape(batch, tokens, dim)
        x = x + w[f'{block}.ls1.gamma'] * _lin(w, f'{block}.attn.proj', y)
        y = _mlp_out(w, f'{block}.mlp',
                     _ln(w, f'{block}.norm2', x, DINOV3_LAYER_NORM_EPS))
        x = x + w[f'{block}.ls2.gamma'] * y
    return _ln(w, 'norm', x, DINOV3_LAYER_NORM_EPS)


def _channels_first_ln(w: dict, name: str, x: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the channels of an NxCxHxW map (eps 1e-6)."""
    return _ln(w, name, x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def dinov3_convnext_cls(state: dict, prefix: str,
                        images: torch.Tensor) -> torch.Tensor:
    """DINOv3's ConvNeXt embedding (``x_norm_clstoken``): the final norm of
    the average-pooled last feature map.

    Args:
        state (dict): Tensors by name, in the official names.
        prefix (str): The ConvNeXt's prefix in ``state``.
        images (torch.Tensor): NxCxHxW.

    Returns:
        torch.Tensor: NxD.
    """
    w = _tensors(state, prefix)
    x = F.conv2d(images, w['downsample_layers.0.0.weight'],
                 w['downsample_layers.0.0.bias'], stride=4)
    x = _channels_first_ln(w, 'downsample_layers.0.1', x)
    for stage in range(4):
        if stage:
            name = f'downsample_layers.{stage}'
            x = F.conv2d(
                _channels_first_ln(w, f'{name}.0', x), w[f'{name}.1.weight'],
                w[f'{name}.1.bias'], stride=2)
        index = 0
        while f'stages.{stage}.{index}.gamma' in w:
            block = f'stages.{stage}.{index}'
            y = F.conv2d(x, w[f'{block}.dwconv.weight'],
                         w[f'{block}.dwconv.bias'], padding=3,
                         groups=x.shape[1])
            y = _ln(w, f'{block}.norm', y.permute(0, 2, 3, 1))
            y = _lin(w, f'{block}.pwconv2',
                     F.gelu(_lin(w, f'{block}.pwconv1', y)))
            x = x + (w[f'{block}.gamma'] * y).permute(0, 3, 1, 2)
            index += 1
    return _ln(w, 'norm', x.mean(dim=(-2, -1)))


def _fourier_positions(w: dict, batch: int, height: int,
                       width: int) -> torch.Tensor:
    """XCiT's ``PositionalEncodingFourier`` (hidden 32, temperature 1e4)."""
    hidden, eps, scale = 32, 1e-6, 2 * math.pi
    y = torch.arange(1, height + 1, dtype=torch.float32)[:, None].expand(
        height, width)
    x = torch.arange(1, width + 1, dtype=torch.float32)[None, :].expand(
        height, width)
    y = y / (height + eps) * scale
    x = x / (width + eps) * scale
    frequencies = 10000**(2 * (torch.arange(hidden) // 2) / hidden)
    encodings = []
    for position in (y, x):
        angles = position[..., None] / frequencies
        encodings.append(
            torch.stack([angles[..., 0::2].sin(), angles[..., 1::2].cos()],
                        dim=-1).flatten(-2))
    positions = torch.cat(encodings, dim=-1).permute(2, 0, 1)[None]
    positions = F.conv2d(positions, w['pos_embeder.token_projection.weight'],
                         w['pos_embeder.token_projection.bias'])
    return positions.expand(batch, -1, -1, -1)


def xcit_cls(state: dict, prefix: str, images: torch.Tensor,
             heads: int) -> torch.Tensor:
    """The CLS output of facebookresearch/xcit's XCiT (``tokens_norm``,
    as XCiT-S12), in eval mode.

    Args:
        state (dict): Tensors by name, in the official names.
        prefix (str): The XCiT's prefix in ``state``.
        images (torch.Tensor): NxCxHxW.
        heads (int): Attention heads.

    Returns:
        torch.Tensor: NxD.
    """
    w = _tensors(state, prefix)
    x = images
    for layer in range(4):
        name = f'patch_embed.proj.{2 * layer}'
        x = _bn(w, f'{name}.1', F.conv2d(x, w[f'{name}.0.weight'], stride=2,
                                         padding=1))
        if layer < 3:
            x = F.gelu(x)
    batch, dim, height, width = x.shape
    x = x + _fourier_positions(w, batch, height, width)
    x = x.flatten(2).transpose(1, 2)
    tokens = x.shape[1]
    for index in range(len({k.split('.')[1]
                            for k in w if k.startswith('blocks.')})):
        block = f'blocks.{index}'
        qkv = _lin(w, f'{block}.attn.qkv', _ln(w, f'{block}.norm1', x))
        q, k, v = qkv.reshape(batch, tokens, 3, heads,
                              dim // heads).permute(2, 0, 3, 4, 1)
        q, k = F.normalize(q, dim=-1), F.normalize(k, dim=-1)
        attention = (q @ k.transpose(-2, -1) *
                     w[f'{block}.attn.temperature']).softmax(dim=-1)
        y = (attention @ v).permute(0, 3, 1, 2).reshape(batch, tokens, dim)
        x = x + w[f'{block}.gamma1'] * _lin(w, f'{block}.attn.proj', y)
        y = _ln(w, f'{block}.norm3', x).transpose(1, 2).reshape(
            batch, dim, height, width)
        y = F.conv2d(y, w[f'{block}.local_mp.conv1.weight'],
                     w[f'{block}.local_mp.conv1.bias'], padding=1,
                     groups=dim)
        y = _bn(w, f'{block}.local_mp.bn', F.gelu(y))
        y = F.conv2d(y, w[f'{block}.local_mp.conv2.weight'],
                     w[f'{block}.local_mp.conv2.bias'], padding=1,
                     groups=dim)
        x = x + w[f'{block}.gamma3'] * y.reshape(batch, dim,
                                                 tokens).transpose(1, 2)
        x = x + w[f'{block}.gamma2'] * _mlp_out(
            w, f'{block}.mlp', _ln(w, f'{block}.norm2', x))
    x = torch.cat([w['cls_token'].expand(batch, -1, -1), x], dim=1)
    for index in range(2):
        block = f'cls_attn_blocks.{index}'
        normed = _ln(w, f'{block}.norm1', x)
        qkv = _lin(w, f'{block}.attn.qkv', normed)
        q, k, v = qkv.reshape(batch, tokens + 1, 3, heads,
                              dim // heads).permute(2, 0, 3, 1, 4)
        attention = ((q[:, :, :1] * k).sum(dim=-1) *
                     (dim // heads)**-0.5).softmax(dim=-1)
        cls = (attention[:, :, None] @ v).transpose(1, 2).reshape(
            batch, 1, dim)
        cls = _lin(w, f'{block}.attn.proj', cls)
        # the attention passes the normalised patch tokens through
        x = x + w[f'{block}.gamma1'] * torch.cat([cls, normed[:, 1:]], dim=1)
        x = _ln(w, f'{block}.norm2', x)  # tokens_norm: every token
        cls = w[f'{block}.gamma2'] * _mlp_out(w, f'{block}.mlp', x[:, :1])
        # the residual adds the patch tokens to themselves
        x = x + torch.cat([cls, x[:, 1:]], dim=1)
    return _ln(w, 'norm', x)[:, 0]


def dino_bottleneck(state: dict, prefix: str,
                    features: torch.Tensor) -> torch.Tensor:
    """DINOHead up to the prototypes: the MLP, L2-normalised."""
    w = _tensors(state, prefix)
    x = F.gelu(_lin(w, 'mlp.0', features))
    x = F.gelu(_lin(w, 'mlp.2', x))
    return F.normalize(_lin(w, 'mlp.4', x), dim=-1)


def mocov3_projection(state: dict, prefix: str,
                      features: torch.Tensor) -> torch.Tensor:
    """MoCo-v3's projector on the CLS token, in eval mode."""
    w = _tensors(state, prefix)
    x = F.relu(_bn(w, '1', _lin(w, '0', features)))
    x = F.relu(_bn(w, '4', _lin(w, '3', x)))
    return _bn(w, '7', _lin(w, '6', x))


def cls_and_mean(tokens: torch.Tensor, registers: int = 0) -> torch.Tensor:
    """CLS token followed by the mean of the patch tokens (the
    ``registers`` tokens after CLS left out)."""
    return torch.cat([tokens[:, 0], tokens[:, 1 + registers:].mean(dim=1)],
                     dim=1)


def timm_vit(model_name: str, neck: Optional[dict] = None, **kwargs) -> dict:
    """A FrozenTeacher's backbone (and neck) config for a timm model."""
    return dict(
        backbone=dict(
            type='TimmPooledBackbone', model_name=model_name, **kwargs),
        neck=neck)
