"""The released files of self-supervised vision transformers.

Each reader turns a transformer checkpoint into the layout of a
:class:`TimmPooledBackbone` teacher (``backbone.model.*`` in timm's names)
with its projector under ``neck.*``, and each ``fit`` function resizes the
position embedding from the grid it was trained at to the teacher's grid
exactly as the code that trained it does at every forward pass. The layouts
are those of facebookresearch/dino (``main_dino.py``'s full checkpoint, the
backbone-only ``*_pretrain.pth`` files, ViT and XCiT), facebookresearch/dinov2
(``dinov2_vit*14[_reg4]_pretrain.pth``), facebookresearch/dinov3
(``dinov3_vit*16_pretrain_*.pth`` into timm's ``Eva``, and, of the same
release, ``dinov3_convnext_*_pretrain_*.pth`` into timm's ``ConvNeXt``),
facebookresearch/moco-v3 (``vit-*-300ep.pth.tar``) and mmpretrain's
``VisionTransformer``.
"""
import math
import re
from typing import Callable, Dict, List, Mapping, Sequence, Tuple

import torch
import torch.nn.functional as F

from .files import CheckpointFormatError, StateDict, has_prefix, rename
from .vit_names import vit_names

#: Where the teacher's position embedding is.
POS_EMBED = 'backbone.model.pos_embed'


def official_xcit_to_timm(state: StateDict) -> StateDict:
    """Renames facebookresearch/xcit's names to timm's ``Xcit``.

    The Fourier position encoding is ``pos_embeder`` there and
    ``pos_embed`` in timm; each class-attention block computes ``q, k, v``
    with one ``qkv`` layer there and three in timm, so the layer is split
    in thirds (its rows are ``q``, then ``k``, then ``v``).

    Args:
        state (dict): Weights under ``backbone.model.``.

    Returns:
        dict: The same weights in timm's names.
    """
    converted = {}
    for key, value in state.items():
        key = key.replace('.pos_embeder.', '.pos_embed.')
        if re.search(r'\.cls_attn_blocks\.\d+\.attn\.qkv\.', key):
            for name, part in zip('qkv', value.chunk(3, dim=0)):
                converted[key.replace('.qkv.', f'.{name}.')] = part
        else:
            converted[key] = value
    return converted


def read_dino(state: StateDict) -> StateDict:
    """Reads the teacher of a DINO training checkpoint (``main_dino.py``).

    The file holds ``student``, ``teacher``, ``optimizer``, ``epoch``,
    ``args`` and ``dino_loss``; ``args`` is an ``argparse.Namespace``, so
    the file loads only as the tensors-only copy of
    ``tools/model_converters/to_weights_only.py``. The teacher is
    ``teacher.backbone.*`` (``teacher.module.backbone.*`` for a backbone
    with BatchNorm, e.g. XCiT, which DINO wraps in DDP) and the head's MLP
    ``teacher.head.mlp.*``; the prototypes (the weight-normed
    ``head.last_layer.weight_g / weight_v``), the student and the loss's
    centre are dropped.
    """
    backbone, head = [], []
    for wrapper in ('teacher.', 'teacher.module.'):
        backbone.append((wrapper + 'backbone.', 'backbone.model.'))
        head.append((wrapper + 'head.mlp.', 'neck.mlp.'))
    return official_xcit_to_timm(rename(state, head + backbone))


def read_dino_backbone(state: StateDict) -> StateDict:
    """Reads a DINO backbone-only file (``dino_*_pretrain.pth``).

    A ViT has timm's names already; an XCiT has facebookresearch/xcit's
    (see :func:`official_xcit_to_timm`). There is no projector: the teacher
    distils the CLS token (``neck=None``).
    """
    return official_xcit_to_timm(rename(state, [('', 'backbone.model.')]))


def read_dinov2(state: StateDict) -> StateDict:
    """Reads a DINOv2 backbone (``dinov2_vit*14[_reg4]_pretrain.pth``).

    The mask token only serves the masked-image loss and is dropped. With
    registers, timm's model adds the position embedding to the patch tokens
    alone (``no_embed_class``), so the CLS token takes its position
    embedding (entry 0) into itself and the registers become ``reg_token``:
    the tokens are then exactly those of the official model, which puts
    the registers between CLS and the patches without position embedding.
    """
    weights = rename(state, [('mask_token', None), ('', 'backbone.model.')])
    if 'backbone.model.register_tokens' in weights:
        pos_embed = weights[POS_EMBED]
        weights['backbone.model.reg_token'] = weights.pop(
            'backbone.model.register_tokens')
        weights['backbone.model.cls_token'] = (
            weights['backbone.model.cls_token'] + pos_embed[:, :1])
        weights[POS_EMBED] = pos_embed[:, 1:]
    return weights


#: facebookresearch/dinov3's names of a ViT's tensors, as patterns of the
#: name's start, and the start of their names in timm's ``Eva`` (None:
#: dropped); names that match none are timm's already. The mask token only
#: serves the masked-image loss and the local-crop CLS norm only training;
#: ``qkv.bias`` and its ``bias_mask`` are read by :func:`read_dinov3`.
DINOV3_VIT_NAMES = (
    (r'storage_tokens', 'reg_token'),
    (r'rope_embed\.periods', 'rope.periods'),
    (r'blocks\.(\d+)\.ls1\.gamma', r'blocks.\1.gamma_1'),
    (r'blocks\.(\d+)\.ls2\.gamma', r'blocks.\1.gamma_2'),
    (r'mask_token', None),
    (r'local_cls_norm\.', None),
)
#: The same for DINOv3's ConvNeXt and timm's: the stem and downsampling
#: layers move into the stages, and the final norm (saved twice, as
#: ``norm`` and as ``norms.3``) becomes the head's norm, which timm applies
#: to the average-pooled feature map as DINOv3 does to its CLS token.
DINOV3_CONVNEXT_NAMES = (
    (r'downsample_layers\.0\.', 'stem.'),
    (r'downsample_layers\.(\d+)\.', r'stages.\1.downsample.'),
    (r'stages\.(\d+)\.(\d+)\.dwconv\.', r'stages.\1.blocks.\2.conv_dw.'),
    (r'stages\.(\d+)\.(\d+)\.pwconv(\d)\.', r'stages.\1.blocks.\2.mlp.fc\3.'),
    (r'stages\.(\d+)\.(\d+)\.', r'stages.\1.blocks.\2.'),
    (r'norms\.', None),
    (r'norm\.', 'head.norm.'),
)


def rename_by_patterns(state: StateDict, names: Sequence[Tuple[str, str]],
                       prefix: str) -> StateDict:
    """Renames keys by the first pattern of ``names`` their start matches.

    Args:
        state (dict): The tensors.
        names (tuple): ``(pattern, replacement or None)`` pairs, e.g.
            :data:`DINOV3_VIT_NAMES`.
        prefix (str): Put before every new name.

    Returns:
        dict: The renamed tensors, without the dropped ones.
    """
    renamed = {}
    for key, value in state.items():
        for pattern, replacement in names:
            match = re.match(pattern, key)
            if match:
                if replacement is not None:
                    renamed[prefix + match.expand(replacement) +
                            key[match.end():]] = value
                break
        else:
            renamed[prefix + key] = value
    return renamed


def read_dinov3(state: StateDict) -> StateDict:
    """Reads a DINOv3 ViT backbone (``dinov3_vit*16_pretrain_*.pth``).

    The tokens are CLS, the 4 storage tokens (timm's registers), then the
    patches; there is no position embedding: RoPE rotates the queries and
    keys of the patch tokens by angles of their place on the grid, with the
    periods the file stores (``rope_embed.periods``, which the teacher loads
    instead of computing them: the released files hold them rounded to
    bfloat16). The official attention multiplies the ``qkv`` bias by its
    ``bias_mask``, which is 0 for the key third (``mask_k_bias``); timm's
    has a query and a value bias and no key bias, so the masked bias is
    split into ``q_bias`` and ``v_bias``.

    Raises:
        CheckpointFormatError: A key bias that is not masked to zero, or a
            CLS norm apart from the patch norm (``untie_cls_and_patch_norms``):
            timm's ``Eva`` has neither.
    """
    if has_prefix(state, 'cls_norm.'):
        raise CheckpointFormatError(
            'The DINOv3 ViT normalises its CLS and storage tokens with a '
            'norm of their own (cls_norm.*, untie_cls_and_patch_norms), '
            "which timm's Eva does not have; no released DINOv3 ViT does.")
    weights = rename_by_patterns(
        {key: value for key, value in state.items()
         if not key.endswith(('.qkv.bias', '.qkv.bias_mask'))},
        DINOV3_VIT_NAMES, 'backbone.model.')
    unmasked_key_bias = []
    for key in [key for key in state if key.endswith('.qkv.bias')]:
        mask = state.get(key + '_mask')
        bias = state[key] if mask is None else state[key] * mask
        query, key_bias, value = bias.chunk(3)
        if key_bias.any():
            unmasked_key_bias.append(key)
        name = 'backbone.model.' + key[:-len('qkv.bias')]
        weights[name + 'q_bias'] = query
        weights[name + 'v_bias'] = value
    if unmasked_key_bias:
        raise CheckpointFormatError(
            f'The DINOv3 ViT has a key bias in {len(unmasked_key_bias)} '
            f'attention layers ({unmasked_key_bias[0]}, ...; no bias_mask '
            "zeroes it): timm's Eva has none, and with RoPE a key bias "
            'changes the attention. Released DINOv3 ViTs mask it '
            '(mask_k_bias).')
    return weights


def read_dinov3_convnext(state: StateDict) -> StateDict:
    """Reads a DINOv3 ConvNeXt (``dinov3_convnext_*_pretrain_*.pth``).

    Its embedding (the official ``x_norm_clstoken``) is the final norm of
    the average-pooled last feature map: timm's pooled output, with
    ``neck=None``.
    """
    return rename_by_patterns(state, DINOV3_CONVNEXT_NAMES, 'backbone.model.')


def projector_names(state: StateDict, prefix: str) -> List[Tuple[str, str]]:
    """Rules that name the layers of a ``Sequential`` MLP as NonLinearNeck.

    The ``k``-th linear layer becomes ``fc{k}`` and a BatchNorm after it
    ``bn{k}``; activations have no tensors.

    Args:
        state (dict): The checkpoint's tensors.
        prefix (str): The MLP's prefix, e.g. ``'module.base_encoder.head.'``.

    Returns:
        list[tuple]: Rules for :func:`rename`, to ``neck.*``.
    """
    indices = sorted({
        int(key[len(prefix):].split('.')[0])
        for key in state if key.startswith(prefix)
    })
    rules, linear = [], -1
    for index in indices:
        is_batch_norm = f'{prefix}{index}.running_mean' in state
        linear += 0 if is_batch_norm else 1
        name = f'bn{linear}' if is_batch_norm else f'fc{linear}'
        rules.append((f'{prefix}{index}.', f'neck.{name}.'))
    return rules


def read_mocov3(state: StateDict) -> StateDict:
    """Reads the base encoder of a MoCo-v3 checkpoint (``main_moco.py``).

    ``module.base_encoder.*`` is a timm ViT whose classifier ``head`` is the
    projector (Linear-BN-ReLU-Linear-BN-ReLU-Linear-BN without affine), read
    into mmpretrain's ``NonLinearNeck`` names (``fc0, bn0, fc1, ...``). The
    momentum encoder and the predictor are dropped.
    """
    prefix = 'module.base_encoder.'
    return rename(
        state,
        projector_names(state, prefix + 'head.') +
        [(prefix, 'backbone.model.')])


def read_mmpretrain_vit(state: StateDict) -> StateDict:
    """Reads mmpretrain's ``VisionTransformer`` into timm's names.

    Tensors of no ViT part of :data:`~disco_mm.checkpoints.vit_names.VIT_PARTS`
    keep their names (the teacher then lists them if it needs them);
    ``neck.*`` (e.g. MoCo-v3's ``NonLinearNeck``) is kept as it is.
    """
    backbone = rename(state, [('backbone.', '')])
    renamed, unknown = vit_names(backbone, to='timm')
    renamed.update({key: backbone[key] for key in unknown})
    return {
        **rename(state, [('neck.', 'neck.')]),
        **rename(renamed, [('', 'backbone.model.')])
    }


def resize_grid(grid: torch.Tensor, size: Tuple[int, int], offset: float,
                antialias: bool) -> torch.Tensor:
    """Resizes a 1xCxHxW grid of position embeddings bicubically.

    Args:
        grid (torch.Tensor): The embeddings, 1xCxHxW.
        size (tuple): The new ``(H, W)``.
        offset (float): DINO's work-around: with an offset, the scale
            factor ``(size + offset) / old size`` is given to the
            interpolation instead of the size (the two place the samples
            differently). 0 gives the size.
        antialias (bool): Antialiased interpolation.

    Returns:
        torch.Tensor: 1xCx``size``.
    """
    if offset:
        scale = tuple((new + offset) / old
                      for new, old in zip(size, grid.shape[-2:]))
        return F.interpolate(
            grid, scale_factor=scale, mode='bicubic', antialias=antialias)
    return F.interpolate(grid, size=size, mode='bicubic', antialias=antialias)


def position_embedding_fit(offset: float, antialias: bool) -> Callable:
    """A ``fit`` that resizes the position embedding of a square grid.

    The tokens before the grid (CLS, when the embedding has one) are kept;
    their number is what the token count has beyond a square.

    Args:
        offset (float): See :func:`resize_grid`.
        antialias (bool): See :func:`resize_grid`.

    Returns:
        callable: ``fit(weights, teacher_weights) -> weights``.
    """

    def fit(weights: StateDict,
            teacher_weights: Mapping[str, torch.Tensor]) -> StateDict:
        if POS_EMBED not in weights or POS_EMBED not in teacher_weights:
            return weights
        pos_embed = weights[POS_EMBED]
        tokens = pos_embed.shape[1]
        wanted = teacher_weights[POS_EMBED].shape[1]
        side, new_side = math.isqrt(tokens), math.isqrt(wanted)
        extra = tokens - side * side
        if side == new_side or wanted - new_side * new_side != extra:
            return weights  # the same grid, or a shape the teacher reports
        grid = pos_embed[:, extra:].float().reshape(1, side, side, -1)
        resized = resize_grid(
            grid.permute(0, 3, 1, 2), (new_side, new_side), offset, antialias)
        resized = resized.permute(0, 2, 3, 1).reshape(1, new_side * new_side,
                                                      -1)
        return {
            **weights, POS_EMBED:
            torch.cat([pos_embed[:, :extra], resized.to(pos_embed.dtype)],
                      dim=1)
        }

    return fit


#: DINO's ``interpolate_pos_encoding`` (and DINOv2's without registers).
fit_dino = position_embedding_fit(offset=0.1, antialias=False)
#: timm's ``resample_abs_pos_embed`` (and DINOv2's hub models with
#: registers, built with ``interpolate_offset=0, interpolate_antialias``).
fit_timm = position_embedding_fit(offset=0, antialias=True)
#: mmpretrain's ``resize_pos_embed``.
fit_mmpretrain = position_embedding_fit(offset=0, antialias=False)


def fit_dinov2(weights: StateDict,
               teacher_weights: Mapping[str, torch.Tensor]) -> StateDict:
    """Resizes as DINOv2's hub model of the file does (see above)."""
    with_registers = 'backbone.model.reg_token' in weights
    fit = fit_timm if with_registers else fit_dino
    return fit(weights, teacher_weights)


def fit_dinov3(weights: StateDict,
               teacher_weights: Mapping[str, torch.Tensor]) -> StateDict:
    """Fits DINOv3's query and value biases to a timm model without them.

    RoPE needs no resize. timm's ``*_dinov3`` models have no ``qkv`` bias and
    their ``*_dinov3_qkvb`` twins have one: biases that are all zero are
    dropped for the former; non-zero ones need the latter.

    Raises:
        CheckpointFormatError: Non-zero biases for a teacher without them.
    """
    biases = [key for key in weights if key.endswith(('.q_bias', '.v_bias'))]
    if not biases or any(key in teacher_weights for key in biases):
        return weights
    non_zero = [key for key in biases if weights[key].any()]
    if non_zero:
        raise CheckpointFormatError(
            f'The DINOv3 ViT has non-zero query and value biases '
            f'({non_zero[0]}, ... {len(non_zero)} in all), but the teacher '
            "has none: use timm's model with qkv bias, the name ending in "
            "'_qkvb' (e.g. model.teacher.backbone.model_name="
            "'vit_small_patch16_dinov3_qkvb').")
    return {key: value for key, value in weights.items() if key not in biases}


def _is_dino(keys: Sequence[str]) -> bool:
    """A DINO training checkpoint's teacher."""
    return (has_prefix(keys, 'teacher.backbone.')
            or has_prefix(keys, 'teacher.module.backbone.'))


def _is_dino_backbone(keys: Sequence[str]) -> bool:
    """A ViT or XCiT without prefix and without DINOv2's mask token."""
    return ('cls_token' in keys and 'blocks.0.norm1.weight' in keys
            and 'mask_token' not in keys)


def _is_dinov2(keys: Sequence[str]) -> bool:
    """A ViT without prefix with DINOv2's mask token and a position
    embedding (DINOv3 has RoPE instead)."""
    return ('mask_token' in keys and 'pos_embed' in keys
            and 'blocks.0.norm1.weight' in keys)


def _is_dinov3(keys: Sequence[str]) -> bool:
    """A ViT without prefix with DINOv3's RoPE periods."""
    return 'rope_embed.periods' in keys and 'blocks.0.norm1.weight' in keys


def _is_dinov3_convnext(keys: Sequence[str]) -> bool:
    """A ConvNeXt in its official names, without prefix."""
    return ('downsample_layers.0.0.weight' in keys
            and 'stages.0.0.dwconv.weight' in keys)


def _is_mocov3(keys: Sequence[str]) -> bool:
    """MoCo-v3's DDP-wrapped base encoder."""
    return has_prefix(keys, 'module.base_encoder.')


def is_mmpretrain_vit(keys: Sequence[str]) -> bool:
    """mmpretrain's VisionTransformer under ``backbone.``."""
    return 'backbone.layers.0.ln1.weight' in keys


#: ``(name, description, matches, read, fit)`` of each transformer format.
TRANSFORMER_FORMATS: Dict[str, tuple] = {
    'dino': ('facebookresearch/dino full checkpoint (tensors-only copy): '
             'teacher.backbone.*, teacher.head.mlp.*, prototypes '
             'teacher.head.last_layer.*, student.*', _is_dino, read_dino,
             fit_dino),
    'dino_backbone': ('facebookresearch/dino backbone only (ViT or XCiT): '
                      'cls_token, pos_embed or pos_embeder.*, blocks.*',
                      _is_dino_backbone, read_dino_backbone, fit_dino),
    'dinov2': ('facebookresearch/dinov2 backbone: cls_token, mask_token, '
               'pos_embed, [register_tokens], blocks.*.ls1.gamma',
               _is_dinov2, read_dinov2, fit_dinov2),
    'dinov3': ('facebookresearch/dinov3 ViT backbone: cls_token, '
               'storage_tokens, mask_token, rope_embed.periods, '
               'blocks.*.attn.qkv.bias_mask, blocks.*.ls1.gamma', _is_dinov3,
               read_dinov3, fit_dinov3),
    'dinov3_convnext': ('facebookresearch/dinov3 ConvNeXt backbone: '
                        'downsample_layers.*, stages.*.*.dwconv.*, norm.*, '
                        'norms.3.*', _is_dinov3_convnext,
                        read_dinov3_convnext, None),
    'mocov3': ('facebookresearch/moco-v3: module.base_encoder.* with '
               'projector head.*, module.momentum_encoder.*, '
               'module.predictor.*', _is_mocov3, read_mocov3, None),
    'mmpretrain_vit': ("mmpretrain's VisionTransformer: backbone.layers.*, "
                       'backbone.ln1.*, neck.*', is_mmpretrain_vit,
                       read_mmpretrain_vit, fit_mmpretrain),
}
