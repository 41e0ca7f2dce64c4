"""The checkpoint formats a teacher can come in, read into one layout.

Every reader here turns a foreign state dict into disco_mm's layout: the
backbone under ``backbone.*`` (``backbone.model.*`` for a
:class:`TimmPooledBackbone`) and the projector under ``neck.mlp.*``, as
mmpretrain's self-supervised checkpoints store them. :class:`FrozenTeacher`
reads its checkpoint through :func:`read_teacher_checkpoint`, and the
command-line converters of ``tools/model_converters/`` write the same
dictionaries to files, so a file loads the same way directly or converted.

Every file is loaded with ``weights_only=True``: a file that needs code to
unpickle is refused with the command that makes a tensors-only copy.
"""
import pickle
from typing import (Callable, Collection, Dict, List, NamedTuple, Optional,
                    Sequence, Tuple)

import torch
from mmengine.logging import print_log

#: How many keys an error message shows of a checkpoint it cannot read.
MAX_KEYS_SHOWN = 8

#: Where the projector of an encoder is, by the code base that trained it:
#: torchvision models with MoCo's MLP (``fc.0``/``fc.2``), timm models with
#: DisCo's MLP (``classifier.0``/``classifier.2``), SwAV (``projection_head``).
PROJECTOR_NAMES = ('fc.', 'classifier.', 'projection_head.')

#: The command that makes a tensors-only copy of a checkpoint one trusts.
WEIGHTS_ONLY_CONVERTER = 'tools/model_converters/to_weights_only.py'

StateDict = Dict[str, torch.Tensor]
#: ``(old prefix, new prefix)``; a new prefix of None drops the keys.
RenameRule = Tuple[str, Optional[str]]


class CheckpointFormatError(ValueError):
    """A checkpoint cannot be read safely or in the layout asked for."""


class CheckpointFormat(NamedTuple):
    """A checkpoint layout and how to read it into disco_mm's layout.

    Attributes:
        name (str): The ``format`` value that selects it.
        description (str): Where such files come from and their key names.
        matches (callable, optional): Tells from a state dict's keys whether
            it is of this format; None for a format that has no signature of
            its own and is read only when named.
        read (callable): Returns the state dict in disco_mm's layout.
    """
    name: str
    description: str
    matches: Optional[Callable[[Sequence[str]], bool]]
    read: Callable[[StateDict], StateDict]


def load_checkpoint_file(path: str) -> dict:
    """Loads a checkpoint with ``weights_only=True`` on the CPU.

    Args:
        path (str): The file.

    Returns:
        dict: The loaded object.

    Raises:
        CheckpointFormatError: The file holds objects that only load by
            running code from it; the message says how to copy its tensors.
    """
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message goes on to suggest weights_only=False; the line
        # naming the refused object is the one that matters here.
        reason = next((line.strip() for line in str(error).splitlines()
                       if 'Unsupported global' in line), str(error))
        raise CheckpointFormatError(
            f'Checkpoint {path} holds objects that only load by running '
            'code from the file, which disco_mm never does. If you trust '
            'the file, save a tensors-only copy once and use the copy:\n'
            f'  python {WEIGHTS_ONLY_CONVERTER} {path} COPY.pth\n'
            f'({reason})') from error


def state_dict_of(checkpoint: dict) -> StateDict:
    """Returns the tensors of a checkpoint's ``state_dict`` or of the file.

    Args:
        checkpoint (dict): A loaded checkpoint: a state dict, or a dict with
            the state dict under ``'state_dict'``.

    Returns:
        dict: Every tensor entry, by key.

    Raises:
        CheckpointFormatError: The file holds no dictionary.
    """
    if not isinstance(checkpoint, dict):
        raise CheckpointFormatError(
            f'A checkpoint must hold a dict of tensors, not a '
            f'{type(checkpoint).__name__}.')
    state = checkpoint.get('state_dict', checkpoint)
    return {
        key: value
        for key, value in state.items() if isinstance(value, torch.Tensor)
    }


def first_keys(keys: Sequence[str]) -> str:
    """Formats the first few keys of a checkpoint for an error message."""
    keys = list(keys)
    shown = ', '.join(keys[:MAX_KEYS_SHOWN])
    return shown + (f', ... ({len(keys)} keys)'
                    if len(keys) > MAX_KEYS_SHOWN else '')


def rename(state: StateDict, rules: Sequence[RenameRule]) -> StateDict:
    """Renames keys by the first rule whose old prefix they start with.

    Keys that match no rule, and keys whose rule has no new prefix, are
    left out.

    Args:
        state (dict): The state dict to read.
        rules (list[tuple]): ``(old prefix, new prefix or None)`` pairs.

    Returns:
        dict: The renamed entries.
    """
    renamed = {}
    for key, value in state.items():
        for old, new in rules:
            if key.startswith(old):
                if new is not None:
                    renamed[new + key[len(old):]] = value
                break
    return renamed


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


def has_prefix(keys: Sequence[str], prefix: str) -> bool:
    """Tells whether any key starts with ``prefix``."""
    return any(key.startswith(prefix) for key in keys)


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
    """Keys under ``backbone.`` or ``neck.``."""
    return has_prefix(keys, 'backbone.') or has_prefix(keys, 'neck.')


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
            None, read_timm),
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
                **read_options) -> Tuple[StateDict, str]:
    """Reads a state dict of a given or detected format.

    Args:
        state (dict): The foreign state dict.
        format (str): A key of :data:`FORMATS`, or ``'auto'`` to detect
            it. Defaults to ``'auto'``.
        source (str): The file, for error messages. Defaults to
            ``'checkpoint'``.
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
    return converted, format


def read_projector(path: str) -> StateDict:
    """Reads a projector saved apart from its backbone.

    Args:
        path (str): A file whose state dict holds ``neck.*`` entries (e.g.
            a converted teacher checkpoint), or the projector module's own
            state dict (``mlp.0.weight``, ...).

    Returns:
        dict: The projector under ``neck.*``.
    """
    state = state_dict_of(load_checkpoint_file(path))
    if has_prefix(state, 'neck.'):
        return rename(state, [('neck.', 'neck.')])
    return rename(state, [('', 'neck.')])


def read_teacher_checkpoint(
        path: str,
        format: str = 'auto',
        projector_checkpoint: Optional[str] = None,
        teacher_keys: Optional[Collection[str]] = None,
        **read_options) -> Tuple[StateDict, str]:
    """Reads a teacher's weights from any supported file.

    Args:
        path (str): The teacher checkpoint.
        format (str): Its format (a key of :data:`FORMATS`) or ``'auto'``.
            Defaults to ``'auto'``.
        projector_checkpoint (str, optional): A file with the projector
            (see :func:`read_projector`); it replaces any projector of
            ``path``. Defaults to None.
        teacher_keys (Collection[str], optional): The teacher's own keys
            (``backbone.*``, ``neck.*``); when given, the format, the files
            and how many of their tensors the teacher takes and ignores are
            logged. Defaults to None.
        **read_options: Options of the format's reader (see
            :func:`to_disco_mm`).

    Returns:
        tuple[dict, str]: ``backbone.*`` / ``neck.*`` tensors and the
        format ``path`` was read as.
    """
    state = state_dict_of(load_checkpoint_file(path))
    weights, read_as = to_disco_mm(state, format, path, **read_options)
    file_tensors = len(state)
    if projector_checkpoint:
        projector = read_projector(projector_checkpoint)
        file_tensors += len(projector)
        weights = {
            **rename(weights, [('backbone.', 'backbone.')]),
            **projector
        }
    if teacher_keys is not None:
        taken = len(set(teacher_keys) & set(weights))
        how = 'detected from its keys' if format == 'auto' else 'as named'
        files = path + (f' (projector: {projector_checkpoint})'
                        if projector_checkpoint else '')
        print_log(
            f'Teacher checkpoint {files}: format {read_as!r} ({how}: '
            f'{FORMATS[read_as].description}); {taken} tensors loaded of '
            f"the teacher's {len(teacher_keys)}, {file_tensors - taken} of "
            f'the {file_tensors} in the file ignored.',
            logger='current')
    return weights, read_as
