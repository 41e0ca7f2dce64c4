"""The checkpoint formats a teacher can come in, read into one layout.

Every reader here turns a foreign state dict into disco_mm's layout: the
backbone under ``backbone.*`` (``backbone.model.*`` for a
:class:`TimmPooledBackbone`) and the projector under ``neck.mlp.*``, as
mmpretrain's self-supervised checkpoints store them. The released vision
transformers (DINO, DINOv2, DINOv3, MoCo-v3, mmpretrain's ViT) have their
readers in :mod:`disco_mm.checkpoints.transformer_formats`, with a ``fit``
that resizes their position embedding to the teacher's input size. A new
format is one reader, one key signature and one :class:`CheckpointFormat`
entry of :data:`FORMATS`; :mod:`disco_mm.checkpoints.teacher` reads files
through :func:`to_disco_mm`, for :class:`FrozenTeacher` and the converters
of ``tools/model_converters/`` alike.
"""
from typing import (Callable, List, Mapping, NamedTuple, Optional, Sequence,
                    Tuple)

import torch

from .files import (CheckpointFormatError, RenameRule, StateDict, first_keys,
                    has_prefix, rename)
from .transformer_formats import (TRANSFORMER_FORMATS, fit_timm,
                                  is_mmpretrain_vit)

#: Where the projector of an encoder is, by the code base that trained it:
#: torchvision models with MoCo's MLP (``fc.0``/``fc.2``), timm models with
#: DisCo's MLP (``classifier.0``/``classifier.2``), SwAV (``projection_head``).
PROJECTOR_NAMES = ('fc.', 'classifier.', 'projection_head.')


class CheckpointFormat(NamedTuple):
    """A checkpoint layout and how to read it into disco_mm's layout.

    Attributes:
        name (str): The ``format`` value that selects it.
        description (str): Where such files come from and their key names.
        matches (callable, optional): Tells from a state dict's keys whether
            it is of this format; None for a format that has no signature of
            its own and is read only when named.
        read (callable): Returns the state dict in disco_mm's layout.
        fit (callable, optional): ``fit(weights, teacher_weights)`` resizes
            what depends on the input size (a ViT's position embedding) to
            the teacher's shapes, as the code that trained it does. None
            for a format whose tensors never change with the input size.
            Defaults to None.
    """
    name: str
    description: str
    matches: Optional[Callable[[Sequence[str]], bool]]
    read: Callable[[StateDict], StateDict]
    fit: Optional[Callable[[StateDict, Mapping[str, torch.Tensor]],
                           StateDict]] = None


def encoder_rules(prefix: str,
                  backbone_prefix: str = 'backbone.') -> List[RenameRule]:
    """Rules that read an encoder whose projector sits in its classifier.

    MoCo, SwAV and the official DisCo code replace the classifier of a
    torchvision or timm model by the projector; SwAV's prototypes are not
    part of the embedding and are dropped.

    Args:
        prefix (str): The encoder's prefix, e.g. ``'module.encoder_q.'``.
        backbone_prefix (str): Where the rest of the encoder goes.
            Defaults to ``'backbone.'``.

    Returns:
        list[tuple]: Rules for :func:`rename`.
    """
    return [(prefix + name, 'neck.mlp.')
            for name in PROJECTOR_NAMES] + [(prefix + 'prototypes', None),
                                            (prefix, backbone_prefix)]


def read_mmpretrain(state: StateDict) -> StateDict:
    """Keeps ``backbone.*`` and ``neck.*``; drops momentum encoder, queue."""
    return rename(state, [('backbone.', 'backbone.'), ('neck.', 'neck.')])


def read_moco(state: StateDict) -> StateDict:
    """Reads the query encoder of facebookresearch/moco; drops the rest."""
    return rename(state, encoder_rules('module.encoder_q.'))


def read_swav(state: StateDict) -> StateDict:
    """Reads a facebookresearch/swav model; drops its prototypes."""
    return rename(state, encoder_rules('module.'))


def read_disco_official(state: StateDict, part: str = 'teacher') -> StateDict:
    """Reads the teacher or the student of an official DisCo checkpoint.

    The teacher is ``module.teacher_encoder_q.*`` (a MoCo or SwAV encoder).
    The student is ``module.encoder_q.*``: a torchvision ResNet with its
    projector at ``fc.*`` goes to ``backbone.*``; a timm EfficientNet or
    MobileNetV3 with its projector at ``classifier.*`` goes to
    ``backbone.model.*`` (a :class:`TimmPooledBackbone`). The momentum
    copies and the queue are dropped.

    Args:
        state (dict): The checkpoint's state dict.
        part (str): ``'teacher'`` or ``'student'``. Defaults to
            ``'teacher'``.

    Returns:
        dict: The part in disco_mm's layout.
    """
    if part == 'teacher':
        return rename(state, encoder_rules('module.teacher_encoder_q.'))
    if part != 'student':
        raise ValueError(f"part must be 'teacher' or 'student', got {part!r}")
    prefix = 'module.encoder_q.'
    timm_student = has_prefix(state, prefix + 'classifier.')
    return rename(
        state,
        encoder_rules(prefix,
                      'backbone.model.' if timm_student else 'backbone.'))


def read_torchvision(state: StateDict) -> StateDict:
    """Reads a torchvision (or timm) ResNet; drops its classifier ``fc``."""
    return rename(state, [('fc.', None), ('', 'backbone.')])


def read_timm(state: StateDict, classifier: Optional[str] = None) -> StateDict:
    """Reads a timm model for a :class:`TimmPooledBackbone`.

    Args:
        state (dict): The model's state dict.
        classifier (str, optional): The classifier's module name (timm's
            ``pretrained_cfg['classifier']``, e.g. ``'classifier'``,
            ``'head.fc'``), whose keys are dropped. Defaults to None: every
            key is kept (a teacher ignores the keys it does not have).

    Returns:
        dict: The weights under ``backbone.model.*``.
    """
    rules = [(f'{classifier}.', None)] if classifier else []
    return rename(state, rules + [('', 'backbone.model.')])


def _is_mmpretrain(keys: Sequence[str]) -> bool:
    """Keys under ``backbone.`` or ``neck.``, but mmpretrain's ViT names."""
    return (has_prefix(keys, 'backbone.')
            or has_prefix(keys, 'neck.')) and not is_mmpretrain_vit(keys)


def _is_moco(keys: Sequence[str]) -> bool:
    """A query encoder without the teachers of the official DisCo code."""
    return has_prefix(keys, 'module.encoder_q.') and not has_prefix(
        keys, 'module.teacher_encoder_q.')


def _is_swav(keys: Sequence[str]) -> bool:
    """A ResNet with a DDP ``module.`` prefix and no encoder wrapper."""
    return 'module.conv1.weight' in keys


def _is_disco_official(keys: Sequence[str]) -> bool:
    """The official DisCo wrapper, which holds the teacher."""
    return has_prefix(keys, 'module.teacher_encoder_q.')


def _is_torchvision_resnet(keys: Sequence[str]) -> bool:
    """A ResNet with torchvision's names and no prefix."""
    return 'conv1.weight' in keys and 'layer1.0.conv1.weight' in keys


FORMATS = {
    checkpoint_format.name: checkpoint_format
    for checkpoint_format in (
        CheckpointFormat(
            'mmpretrain', 'mmpretrain / mmselfsup / disco_mm checkpoints: '
            'backbone.*, neck.*', _is_mmpretrain, read_mmpretrain),
        CheckpointFormat(
            'moco', 'facebookresearch/moco: module.encoder_q.*, projector '
            'at fc.0 / fc.2', _is_moco, read_moco),
        CheckpointFormat(
            'swav', 'facebookresearch/swav: module.*, projector at '
            'projection_head.0 / 1 / 3, prototypes', _is_swav, read_swav),
        CheckpointFormat(
            'disco_official', 'official DisCo code: module.encoder_q.* '
            '(student), module.teacher_encoder_q.* (teacher)',
            _is_disco_official, read_disco_official),
        CheckpointFormat(
            'torchvision', 'torchvision (or timm) ResNet state dict: conv1.*, '
            'layer1.*, ..., fc.*', _is_torchvision_resnet, read_torchvision),
        CheckpointFormat(
            'timm', "a timm model's state dict; read only with format='timm'",
            None, read_timm, fit_timm),
        *(CheckpointFormat(name, *fields)
          for name, fields in TRANSFORMER_FORMATS.items()),
    )
}


def detect_format(state: StateDict, source: str = 'checkpoint') -> str:
    """Names the one format whose key signature the state dict has.

    Args:
        state (dict): A state dict.
        source (str): The file, for the error message. Defaults to
            ``'checkpoint'``.

    Returns:
        str: A key of :data:`FORMATS`.

    Raises:
        CheckpointFormatError: No format or several formats match; the
            message names the formats tried and the first keys.
    """
    detectable = [fmt for fmt in FORMATS.values() if fmt.matches is not None]
    found = [fmt.name for fmt in detectable if fmt.matches(list(state))]
    if len(found) == 1:
        return found[0]
    tried = ''.join(f'\n  {fmt.name}: {fmt.description}' for fmt in detectable)
    problem = (f'has the keys of several formats ({", ".join(found)})'
               if found else 'has keys of no format disco_mm recognises')
    raise CheckpointFormatError(
        f'{source} {problem}. Formats tried:{tried}\n'
        f'First keys: {first_keys(state)}\n'
        'Name the format with model.teacher.format (e.g. '
        "format='timm' for a plain timm state dict) or convert the file; see "
        'docs/teachers.md.')


def to_disco_mm(state: StateDict,
                format: str = 'auto',
                source: str = 'checkpoint',
                teacher_weights: Optional[Mapping[str, torch.Tensor]] = None,
                **read_options) -> Tuple[StateDict, str]:
    """Reads a state dict of a given or detected format.

    Args:
        state (dict): The foreign state dict.
        format (str): A key of :data:`FORMATS`, or ``'auto'`` to detect
            it. Defaults to ``'auto'``.
        source (str): The file, for error messages. Defaults to
            ``'checkpoint'``.
        teacher_weights (Mapping, optional): The tensors of the model the
            weights are for; when given, the format's ``fit`` resizes the
            weights to their shapes. Defaults to None.
        **read_options: Options of the format's reader, e.g. ``part`` of
            :func:`read_disco_official`, ``classifier`` of
            :func:`read_timm`.

    Returns:
        tuple[dict, str]: The state dict in disco_mm's layout and the
        format it was read as.

    Raises:
        CheckpointFormatError: The format is unknown, cannot be detected, or
            finds nothing of its layout in the state dict.
    """
    if format == 'auto':
        format = detect_format(state, source)
    elif format not in FORMATS:
        raise CheckpointFormatError(
            f'Unknown checkpoint format {format!r}; use one of '
            f"{sorted(FORMATS)} or 'auto'.")
    converted = FORMATS[format].read(state, **read_options)
    if not converted:
        raise CheckpointFormatError(
            f'{source} holds no weights of format {format!r} '
            f'({FORMATS[format].description}). First keys: '
            f"{first_keys(state)}. Check the format, or leave it 'auto'.")
    fit = FORMATS[format].fit
    if fit is not None and teacher_weights is not None:
        converted = fit(converted, teacher_weights)
    return converted, format
