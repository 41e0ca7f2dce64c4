"""Exporting a trained student's backbone to where it is deployed."""
import logging
import os.path as osp
from typing import List, NamedTuple, Optional, Tuple

from mmengine.config import Config
from mmengine.logging import print_log

from ..models.teachers.checkpoint_formats import (MAX_KEYS_SHOWN,
                                                  CheckpointFormatError,
                                                  StateDict, first_keys,
                                                  has_prefix,
                                                  load_checkpoint_file, rename,
                                                  state_dict_of)
from .teacher_conversion import save_checkpoint_file

#: Where a student can be exported to.
EXPORT_TARGETS = ('mmpretrain', 'mmdet', 'timm', 'torchvision')

#: The top-level modules of a torchvision ResNet without its classifier.
TORCHVISION_RESNET_MODULES = ('conv1', 'bn1', 'layer1', 'layer2', 'layer3',
                              'layer4')

#: The depth of the stock ResNets (torchvision, timm, mmdet) by their block
#: and number of blocks per stage.
STOCK_RESNET_DEPTHS = {
    ('BasicBlock', (2, 2, 2, 2)): 18,
    ('BasicBlock', (3, 4, 6, 3)): 34,
    ('Bottleneck', (3, 4, 6, 3)): 50,
    ('Bottleneck', (3, 4, 23, 3)): 101,
    ('Bottleneck', (3, 8, 36, 3)): 152,
}

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


def student_backbone(state: StateDict, source: str) -> StateDict:
    """Returns the ``backbone.*`` entries of a student's state dict.

    Args:
        state (dict): A disco_mm training checkpoint's state dict (student,
            projector, momentum encoder, queue), or any state dict with the
            student under ``backbone.*``.
        source (str): The file, for the error message.

    Returns:
        dict: The backbone's tensors, still under ``backbone.``.

    Raises:
        CheckpointFormatError: No ``backbone.*`` entry.
    """
    backbone = rename(state, [('backbone.', 'backbone.')])
    if not backbone:
        raise CheckpointFormatError(
            f'{source} holds no student backbone (no backbone.* key); first '
            f'keys: {first_keys(state)}. Export a disco_mm training '
            'checkpoint, or first convert an official DisCo checkpoint with '
            'tools/model_converters/disco_official2disco_mm.py --part '
            'student.')
    return backbone


def model_weights(backbone: StateDict) -> StateDict:
    """Returns the backbone's tensors by the names of the model it wraps.

    A :class:`TimmPooledBackbone` keeps timm's model under ``model.``;
    mmpretrain's ResNet has torchvision's (and timm's) ResNet names.

    Args:
        backbone (dict): ``backbone.*`` tensors.

    Returns:
        dict: The tensors without ``backbone.`` / ``backbone.model.``.
    """
    prefix = ('backbone.model.'
              if has_prefix(backbone, 'backbone.model.') else 'backbone.')
    return rename(backbone, [(prefix, '')])


def torchvision_resnet_weights(backbone: StateDict,
                               source: str,
                               library: str = 'torchvision') -> StateDict:
    """Returns a ResNet student's tensors by torchvision's names.

    mmdet's ``ResNet`` (and the ``ResLayer`` that holds ``layer4`` in its
    C4 detectors) uses the same names.

    Args:
        backbone (dict): ``backbone.*`` tensors.
        source (str): The file, for the error message.
        library (str): Where the weights go, for the error message.
            Defaults to ``'torchvision'``.

    Returns:
        dict: A torchvision ResNet state dict without ``fc``.

    Raises:
        CheckpointFormatError: The backbone is not a ResNet of torchvision's
            layout.
    """
    weights = model_weights(backbone)
    foreign = [
        key for key in weights
        if key.split('.')[0] not in TORCHVISION_RESNET_MODULES
    ]
    if foreign:
        raise CheckpointFormatError(
            f'The student of {source} is not a ResNet of torchvision\'s '
            f'layout, which {library} needs: it has no {first_keys(foreign)}. '
            'Only ResNet students export to torchvision and mmdet; export '
            'others with --to timm or --to mmpretrain.')
    return weights


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


def stock_model(to: str, name: str) -> StockModel:
    """Builds the target library's stock model, without weights.

    Args:
        to (str): ``'timm'``, ``'torchvision'`` or ``'mmdet'``.
        name (str): The model's name, e.g. ``'resnet18'``.

    Returns:
        StockModel: The model's build call and state dict.
    """
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
                    allow_mismatch: bool) -> None:
    """Checks that the target library's stock model loads an export.

    Args:
        weights (dict): The tensors to write.
        checkpoint (dict): The loaded training checkpoint.
        to (str): ``'timm'``, ``'torchvision'`` or ``'mmdet'``.
        src (str): The training checkpoint, for messages.
        dst (str): The file to write, for messages.
        model_name (str, optional): The stock model's name; None to infer
            it (see :func:`stock_model_name`).
        allow_mismatch (bool): Only warn about a mismatch.

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
        return
    stock = stock_model(to, name)
    problems = stock_mismatch(weights, stock)
    if not problems:
        return
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


def export_student(src: str,
                   dst: str,
                   to: str,
                   model_name: Optional[str] = None,
                   allow_mismatch: bool = False) -> StateDict:
    """Writes the student backbone of a training checkpoint for deployment.

    Only the backbone is written: no projector, momentum encoder, queue or
    teacher.

    * ``mmpretrain``: ``{'meta', 'state_dict': {backbone.*}}``, which
      mmpretrain configs load through the backbone's
      ``init_cfg=dict(type='Pretrained', checkpoint=dst,
      prefix='backbone.')``. The config that loads it builds the student's
      own backbone, so nothing is checked.
    * ``mmdet``: ``{'meta', 'state_dict': {conv1.*, ..., layer4.*}}`` by
      torchvision's names (ResNet students only), which mmdet's ``ResNet``
      and C4 ``ResLayer`` load through ``init_cfg=dict(type='Pretrained',
      checkpoint=dst)``.
    * ``timm``: the state dict of ``timm.create_model(name)`` without its
      classifier (a ResNet student by timm's ResNet names).
    * ``torchvision``: the state dict of a torchvision ResNet without
      ``fc`` (ResNet students only).

    For ``mmdet``, ``timm`` and ``torchvision`` the library's stock model
    (built without weights) must load the result: a student of another
    width or depth is refused unless ``allow_mismatch`` is set.

    Args:
        src (str): A disco_mm training checkpoint (loaded with
            ``weights_only=True``).
        dst (str): The file to write.
        to (str): One of :data:`EXPORT_TARGETS`.
        model_name (str, optional): The stock model to check against, e.g.
            ``'efficientnet_b0'``. Defaults to None: the stock ResNet of a
            ResNet student's blocks, or the ``model.backbone.model_name``
            of the checkpoint's config.
        allow_mismatch (bool): Write a student that the stock model cannot
            load (for a model built with the student's own constructor
            arguments), with a warning. Defaults to False.

    Returns:
        dict: The tensors written.

    Raises:
        StockModelMismatchError: The stock model cannot load the result
            and ``allow_mismatch`` is False; nothing is written.
    """
    if to not in EXPORT_TARGETS:
        raise ValueError(f'to must be one of {EXPORT_TARGETS}, got {to!r}')
    checkpoint = load_checkpoint_file(src)
    backbone = student_backbone(state_dict_of(checkpoint), source=src)
    if to == 'mmpretrain':
        exported = backbone
    elif to == 'timm':
        exported = model_weights(backbone)
    else:
        exported = torchvision_resnet_weights(backbone, src, library=to)
    if to != 'mmpretrain':
        check_stock_fit(exported, checkpoint, to, src, dst, model_name,
                        allow_mismatch)
    if to in ('mmpretrain', 'mmdet'):
        meta = dict(source=osp.basename(src), exported_to=to)
        save_checkpoint_file(dict(meta=meta, state_dict=exported), dst)
    else:
        save_checkpoint_file(exported, dst)
    return exported
