"""The check that a target library's stock model loads an exported student.

timm, torchvision and mmdet build their models from a name (``resnet18``,
``efficientnet_b0``), mmpretrain its ``VisionTransformer`` from an ``arch``
(``'deit-tiny'``); a student of another width or depth exports to names
that such a model cannot load. :func:`check_stock_fit` builds the stock
model without weights and compares keys and shapes before anything is
written.
"""
import logging
from typing import List, NamedTuple, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from .files import MAX_KEYS_SHOWN, CheckpointFormatError, StateDict, first_keys
from .student import TORCHVISION_RESNET_MODULES

#: The depth of the stock ResNets (torchvision, timm, mmdet) by their block
#: and number of blocks per stage.
STOCK_RESNET_DEPTHS = {
    ('BasicBlock', (2, 2, 2, 2)): 18,
    ('BasicBlock', (3, 4, 6, 3)): 34,
    ('Bottleneck', (3, 4, 6, 3)): 50,
    ('Bottleneck', (3, 4, 23, 3)): 101,
    ('Bottleneck', (3, 8, 36, 3)): 152,
}

#: mmpretrain's ``VisionTransformer`` archs a timm ViT student may have, by
#: the name an mmpretrain config gives.
MMPRETRAIN_VIT_ARCHS = ('deit-tiny', 'deit-small', 'deit-base', 'large',
                        'huge')

#: The flag of extract_student.py that writes a file the stock model of the
#: target library cannot load.
ALLOW_MISMATCH_FLAG = '--allow-mismatch'


class StockModelMismatchError(CheckpointFormatError):
    """The target library's stock model cannot load an exported student."""


class StockModel(NamedTuple):
    """The model a target library builds by default, without weights.

    Attributes:
        call (str): How it is built, for messages.
        state (dict): Its state dict.
        head (tuple[str]): Its keys an export leaves out on purpose (the
            classifier).
    """
    call: str
    state: StateDict
    head: Tuple[str, ...] = ()


def resnet_layout(weights: StateDict) -> Tuple[str, Tuple[int, ...]]:
    """Returns the block type and the blocks per stage of a ResNet.

    Args:
        weights (dict): A ResNet state dict by torchvision's names.

    Returns:
        tuple: ``'BasicBlock'`` or ``'Bottleneck'``, and the number of
        blocks of ``layer1`` to ``layer4``.
    """
    block = ('Bottleneck'
             if 'layer1.0.conv3.weight' in weights else 'BasicBlock')
    blocks = tuple(1 + max((int(key.split('.')[1])
                            for key in weights
                            if key.startswith(f'layer{stage}.')),
                           default=-1) for stage in range(1, 5))
    return block, blocks


def configured_model_name(checkpoint: dict) -> Optional[str]:
    """The student's timm ``model_name`` from a training checkpoint's config.

    mmengine's Runner saves the config under ``meta['cfg']``.

    Args:
        checkpoint (dict): A loaded training checkpoint.

    Returns:
        str, optional: ``model.backbone.model_name``; None for a file
        without a config, or a backbone without ``model_name``.
    """
    config_text = checkpoint.get('meta', {}).get('cfg')
    if not config_text:
        return None
    backbone = Config.fromstring(config_text, '.py').model.get('backbone', {})
    return backbone.get('model_name')


def stock_model_name(weights: StateDict, checkpoint: dict, to: str,
                     model_name: Optional[str], source: str) -> str:
    """Names the stock model of the target library to check an export with.

    A ResNet student (torchvision's names) is the stock ResNet of its
    blocks; any other student is a timm model named by ``model_name`` or by
    the checkpoint's config.

    Args:
        weights (dict): The exported tensors (``timm``, ``torchvision``,
            ``mmdet`` names).
        checkpoint (dict): The loaded training checkpoint.
        to (str): The target library.
        model_name (str, optional): The name given on the command line.
        source (str): The file, for the error message.

    Returns:
        str: e.g. ``'resnet18'``, ``'efficientnet_b0'``.

    Raises:
        StockModelMismatchError: No stock model has the student's layout,
            or a timm student's name is unknown.
    """
    if model_name:
        return model_name
    if all(key.split('.')[0] in TORCHVISION_RESNET_MODULES
           for key in weights):
        block, blocks = resnet_layout(weights)
        depth = STOCK_RESNET_DEPTHS.get((block, blocks))
        if depth is None:
            raise StockModelMismatchError(
                f'The student of {source} is a ResNet of {block}s '
                f'{blocks} per stage, which no stock {to} ResNet has '
                f'(those of depth {sorted(STOCK_RESNET_DEPTHS.values())}). '
                f'Pass {ALLOW_MISMATCH_FLAG} to write it for a model built '
                "with the student's own constructor arguments.")
        return f'resnet{depth}'
    name = configured_model_name(checkpoint)
    if name is None:
        raise StockModelMismatchError(
            f'{source} does not say which timm model its student is (no '
            'model.backbone.model_name in its meta cfg), so the export '
            'cannot be checked against it. Pass --model-name NAME (e.g. '
            f'efficientnet_b0), or {ALLOW_MISMATCH_FLAG} to write it '
            'unchecked.')
    return name


def mmpretrain_vit(name: str) -> StockModel:
    """Builds mmpretrain's ``VisionTransformer`` of a timm ViT's shape.

    Args:
        name (str): The timm model, e.g. ``'vit_tiny_patch16_224'``.

    Returns:
        StockModel: ``VisionTransformer`` with the arch of
        :data:`MMPRETRAIN_VIT_ARCHS` of the same widths (else the widths
        as an arch dict), image and patch size.

    Raises:
        StockModelMismatchError: The timm model is no ViT pooled by its
            class token.
    """
    import timm
    from mmpretrain.models import VisionTransformer
    model = timm.create_model(name, pretrained=False, num_classes=0)
    if not (isinstance(model, timm.models.VisionTransformer)
            and model.global_pool == 'token'):
        raise StockModelMismatchError(
            f"timm's {name} is not a ViT pooled by its class token, which "
            "mmpretrain's VisionTransformer is: export it with --to timm.")
    block = model.blocks[0]
    widths = dict(
        embed_dims=model.embed_dim,
        num_layers=len(model.blocks),
        num_heads=block.attn.num_heads,
        feedforward_channels=block.mlp.fc1.out_features)
    arch = next((arch for arch in MMPRETRAIN_VIT_ARCHS
                 if VisionTransformer.arch_zoo[arch] == widths), widths)
    img_size, patch_size = (model.patch_embed.img_size[0],
                            model.patch_embed.patch_size[0])
    vit = VisionTransformer(
        arch=arch, img_size=img_size, patch_size=patch_size)
    return StockModel(
        f"mmpretrain's VisionTransformer(arch={arch!r}, "
        f'img_size={img_size}, patch_size={patch_size})', vit.state_dict())


def stock_model(to: str, name: str) -> StockModel:
    """Builds the target library's stock model, without weights.

    Args:
        to (str): ``'timm'``, ``'torchvision'``, ``'mmdet'`` or
            ``'mmpretrain-vit'``.
        name (str): The model's name, e.g. ``'resnet18'``; for
            ``'mmpretrain-vit'`` the timm ViT whose shape it has.

    Returns:
        StockModel: The model's build call and state dict.
    """
    if to == 'mmpretrain-vit':
        return mmpretrain_vit(name)
    if to == 'timm':
        import timm
        model = timm.create_model(name, pretrained=False, num_classes=0)
        return StockModel(
            f'timm.create_model({name!r}, pretrained=False, num_classes=0)',
            model.state_dict())
    if to == 'torchvision':
        import torchvision
        model = torchvision.models.get_model(name, weights=None)
        return StockModel(f'torchvision.models.{name}(weights=None)',
                          model.state_dict(), ('fc.weight', 'fc.bias'))
    # mmdet's ResNet has the names and shapes of mmpretrain's.
    from mmpretrain.registry import MODELS
    digits = name[len('resnet'):]
    if not (name.startswith('resnet') and digits.isdigit()):
        raise StockModelMismatchError(
            f"mmdet's stock models here are ResNets (resnet18, resnet34, "
            f'...), not {name!r}: fix --model-name.')
    depth = int(digits)
    model = MODELS.build(dict(type='ResNet', depth=depth))
    return StockModel(
        f"mmdet's ResNet(depth={depth}) (configs/benchmarks/detection/)",
        model.state_dict())


def stock_mismatch(weights: StateDict, stock: StockModel) -> List[str]:
    """Lists what keeps the stock model from loading ``weights`` strictly.

    Args:
        weights (dict): The exported tensors.
        stock (StockModel): The target library's stock model.

    Returns:
        list[str]: One line per kind of problem (shapes, missing keys,
        unexpected keys); empty when the stock model loads ``weights``
        (missing only its classifier).
    """
    shapes = [
        f'{key} {list(value.shape)} against {list(stock.state[key].shape)}'
        for key, value in weights.items()
        if key in stock.state and value.shape != stock.state[key].shape
    ]
    missing = [
        key for key in stock.state
        if key not in weights and key not in stock.head
    ]
    unexpected = [key for key in weights if key not in stock.state]
    problems = []
    if shapes:
        shown = '; '.join(shapes[:MAX_KEYS_SHOWN])
        problems.append(f'{len(shapes)} of {len(weights)} tensors differ in '
                        f'shape (exported against stock): {shown}' +
                        ('; ...' if len(shapes) > MAX_KEYS_SHOWN else ''))
    if missing:
        problems.append(f'missing: {first_keys(missing)}')
    if unexpected:
        problems.append(f'unexpected: {first_keys(unexpected)}')
    return problems


def custom_model_hint(weights: StateDict, to: str, name: str) -> str:
    """Tells which model fits the student, for the mismatch message.

    Args:
        weights (dict): The exported tensors.
        to (str): The target library.
        name (str): The stock model's name.

    Returns:
        str: A sentence for the mismatch message.
    """
    generic = (f'The student is not the stock {name}: see the training '
               "config's model.backbone for its constructor arguments.")
    if not (name.startswith('resnet') and 'layer1.0.conv1.weight' in weights):
        return generic
    stem_channels = weights['conv1.weight'].shape[0]
    base_channels = weights['layer1.0.conv1.weight'].shape[0]
    if (stem_channels, base_channels) == (64, 64):
        return generic
    widths = f'stem_channels={stem_channels}, base_channels={base_channels}'
    if to == 'mmdet':
        return (f'The student is a ResNet of another width: give the '
                f"detection config's backbone {widths}.")
    return (f"The student is a ResNet of another width; {to}'s ResNet "
            f"always has 64 stem channels, mmpretrain's "
            f'ResNet(depth={name[len("resnet"):]}, {widths}) is the '
            'student: export with --to mmpretrain for it.')


def check_stock_fit(weights: StateDict, checkpoint: dict, to: str, src: str,
                    dst: str, model_name: Optional[str],
                    allow_mismatch: bool) -> Optional[str]:
    """Checks that the target library's stock model loads an export.

    Args:
        weights (dict): The tensors to write.
        checkpoint (dict): The loaded training checkpoint.
        to (str): ``'timm'``, ``'torchvision'``, ``'mmdet'`` or
            ``'mmpretrain-vit'``.
        src (str): The training checkpoint, for messages.
        dst (str): The file to write, for messages.
        model_name (str, optional): The stock model's name; None to infer
            it (see :func:`stock_model_name`).
        allow_mismatch (bool): Only warn about a mismatch.

    Returns:
        str, optional: How the stock model that loads ``weights`` is built,
        e.g. ``"mmpretrain's VisionTransformer(arch='deit-tiny', ...)"``;
        None when ``weights`` are written unchecked or for a mismatch.

    Raises:
        StockModelMismatchError: The stock model cannot load ``weights``
            and ``allow_mismatch`` is False.
    """
    try:
        name = stock_model_name(weights, checkpoint, to, model_name, src)
    except StockModelMismatchError as error:
        if not allow_mismatch:
            raise
        print_log(
            f'{error} Writing {dst} unchecked.',
            logger='current',
            level=logging.WARNING)
        return None
    stock = stock_model(to, name)
    problems = stock_mismatch(weights, stock)
    if not problems:
        return stock.call
    details = ''.join(f'\n  {problem}' for problem in problems)
    mismatch = (f'{stock.call} cannot load the student of {src}:{details}\n'
                f'{custom_model_hint(weights, to, name)}')
    if not allow_mismatch:
        raise StockModelMismatchError(
            f'{dst} not written: {mismatch} To write it anyway, for a model '
            "built with the student's own constructor arguments, pass "
            f'{ALLOW_MISMATCH_FLAG}.')
    print_log(
        f'{dst} written for a custom model ({ALLOW_MISMATCH_FLAG}): '
        f'{mismatch}',
        logger='current',
        level=logging.WARNING)
    return None
