"""The frozen self-supervised teacher that a student is distilled from."""
import os.path as osp
from contextlib import contextmanager
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn

from ...checkpoints import (CheckpointFormatError, file_sha256,
                            read_teacher_checkpoint)
from ...messages import listed
from ...precision import supported_dtype
from ..utils import features_and_patch_tokens, folded_batch_norms


class TeacherCheckpointError(CheckpointFormatError):
    """A teacher checkpoint cannot be read or does not fit the teacher."""


class TeacherFeatures(NamedTuple):
    """The teacher's embedding and patch tokens of the same images.

    Attributes:
        embedding (torch.Tensor): NxD, what :meth:`FrozenTeacher.forward`
            returns.
        patch_tokens (torch.Tensor): NxLxC, the tokens of the image's
            patches as the backbone gives them (not normalised).
        grid_size (tuple[int, int]): The (height, width) of the patch grid,
            row by row in ``patch_tokens``.
    """
    embedding: torch.Tensor
    patch_tokens: torch.Tensor
    grid_size: Tuple[int, int]


@MODELS.register_module()
class FrozenTeacher(BaseModule):
    """A backbone and projector loaded from a checkpoint and never trained.

    The teacher is built from its config and loaded at once, so a wrong
    checkpoint stops the run before the first iteration. The checkpoint may
    come from mmpretrain / mmselfsup, facebookresearch/moco, swav, dino,
    dinov2, dinov3 or moco-v3, the official DisCo code, or be a plain
    torchvision / timm state dict: its format is recognised from its keys
    (see :mod:`~disco_mm.checkpoints.formats` and ``docs/teachers.md``).
    Every parameter and buffer the teacher has must
    be in the checkpoint with the same shape; keys the teacher does not use
    (a momentum encoder, a queue, a classifier) are ignored.
    The parameters never require gradients, ``init_weights`` leaves them as
    loaded, and the teacher stays in eval mode when its parent calls
    ``train()`` unless ``bn_train_mode`` asks for the official code's
    behaviour (BatchNorm on batch statistics).

    The teacher is not part of its parent's ``state_dict``: it is restored
    from its own checkpoint, so training checkpoints stay small and resuming
    never replaces it. :meth:`identity` gives the SHA-256 of its files, which
    the :class:`~disco_mm.engine.ReliableRunner` keeps in each training
    checkpoint so that a resume with another teacher file is refused.

    Without a projector (``neck=None``) the teacher's embedding is its
    globally average-pooled last feature map, L2-normalised: the feature
    that SimReg-style methods regress. For a vision transformer in a
    :class:`TimmPooledBackbone` that is its pooled feature: the CLS token,
    or CLS and mean patch token with ``pooling='cls+avgpool'``. A ViT's
    position embedding is resized to the teacher's input size as the code
    that trained it does (see ``docs/teachers.md``). ``normalize=False``
    returns the embedding as it is, as the official DisCo-on-SwAV code
    distils it.

    Once loaded, each BatchNorm of the backbone that normalises a
    convolution's output is folded into that convolution, unless
    ``bn_train_mode`` is set: the teacher computes the same function up to
    float rounding without the BatchNorm passes (see
    ``docs/benchmarks.md``). :meth:`weights` is then the folded teacher's
    state; ``fold_batch_norm=False`` keeps the checkpoint's layers.

    :meth:`forward_with_patch_tokens` gives, from the same pass, the
    embedding and the backbone's patch tokens: a ViT's last tokens after
    its final norm without the CLS, register or storage tokens, or a CNN's
    last feature map flattened. :meth:`forward` alone computes nothing
    more than the embedding.

    ``precision='bf16'`` (or ``'fp16'`` on a GPU) runs the teacher in that
    type while the student trains in float32: its weights are cast once
    after loading (BatchNorm keeps float32 parameters and statistics), its
    inputs at each call, and its embedding comes back in the inputs' type
    (float32 for a float32 student). A machine without native support for
    the type refuses it at build time. The default, ``'auto'``, is
    ``'bf16'`` where the machine computes it natively and ``'fp32'``
    elsewhere; the log says which.

    Args:
        backbone (dict): Config of the teacher backbone.
        neck (dict, optional): Config of the teacher projector, or None to
            distil the pooled backbone feature. Required, so that a config
            cannot drop the projector by omission.
        checkpoint (str): Path of the teacher checkpoint, loaded with
            ``weights_only=True``. Required; None only for the error that
            says so. Defaults to None.
        format (str): The checkpoint's format, one of ``'auto'`` (detect
            it from the keys) or a key of
            :data:`~disco_mm.checkpoints.FORMATS`, e.g. ``'moco'``,
            ``'dino'``, ``'dinov2'``, ``'timm'`` (plain timm state dicts
            have no signature and need it). Defaults to ``'auto'``.
        projector_checkpoint (str, optional): A file with the projector
            alone (``neck.*`` keys or the projector's own state dict), for
            a backbone checkpoint without one; it replaces any projector of
            ``checkpoint``. Defaults to None.
        bn_train_mode (bool): Keep BatchNorm in train mode while the parent
            trains, as the official DisCo and BINGO code do: each batch is
            normalised with its own statistics and updates the running
            statistics (still without gradient). Defaults to False.
        normalize (bool): L2-normalise the embedding. Defaults to True.
        precision (str): The type the teacher computes in: ``'auto'``
            (see :func:`~disco_mm.precision.auto_precision`), ``'fp32'``,
            ``'bf16'`` (CPUs with AVX512-BF16 or AMX, GPUs) or ``'fp16'``
            (GPUs). Defaults to ``'auto'``.
        fold_batch_norm (bool): Fold each BatchNorm of the backbone into
            the convolution before it, once after loading (not with
            ``bn_train_mode``, whose statistics change with each batch).
            Defaults to True.
        init_cfg (dict, optional): Unused; weights come from ``checkpoint``.
            Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: Optional[dict],
                 checkpoint: Optional[str] = None,
                 format: str = 'auto',
                 projector_checkpoint: Optional[str] = None,
                 bn_train_mode: bool = False,
                 normalize: bool = True,
                 precision: str = 'auto',
                 fold_batch_norm: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        dtype = supported_dtype(precision, 'model.teacher.precision')
        to_float32 = ('' if dtype == torch.float32 else
                      "; model.teacher.precision='fp32' for float32")
        print_log(
            f'The teacher computes in {dtype} (model.teacher.precision='
            f'{precision!r}{to_float32}).',
            logger='current')
        #: The lower type the teacher computes in; None: the inputs' own.
        self.reduced_dtype = None if dtype == torch.float32 else dtype
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck else None
        if bn_train_mode:
            self._check_has_batch_norm()
        self.checkpoint = checkpoint
        self.format = format
        self.projector_checkpoint = projector_checkpoint
        self.bn_train_mode = bn_train_mode
        self.normalize = normalize
        self.checksums: Dict[str, str] = {}
        self._load_checkpoint(checkpoint)
        self.requires_grad_(False)
        self.train(False)
        if fold_batch_norm and not bn_train_mode:
            self._fold_batch_norms()
        if self.reduced_dtype:
            self._cast_to_precision()
        self._register_state_dict_hook(self._drop_from_state_dict)
        self._register_load_state_dict_pre_hook(
            self._keep_loaded_weights, with_module=True)

    def _check_has_batch_norm(self) -> None:
        """Refuses ``bn_train_mode`` for a teacher without BatchNorm.

        Raises:
            ValueError: No layer of the teacher is a BatchNorm; the message
                names the field to change.
        """
        if not any(
                isinstance(module, nn.modules.batchnorm._BatchNorm)
                for module in self.modules()):
            backbone = self.backbone.__class__.__name__
            model_name = getattr(self.backbone, 'model_name', None)
            raise ValueError(
                'model.teacher.bn_train_mode=True normalises each batch by '
                'the statistics of the teacher\'s BatchNorm layers (the '
                'official DisCo and BINGO code), but this teacher ('
                f'{backbone}{f" {model_name}" if model_name else ""}) has '
                'none: in train mode only its dropout would change. Set '
                'model.teacher.bn_train_mode=False (a config without '
                '"-official" in its name).')

    def _load_checkpoint(self, checkpoint: Optional[str]) -> None:
        """Loads every teacher key from ``checkpoint`` or raises.

        The projector comes from ``projector_checkpoint`` when it is set.

        Args:
            checkpoint (str, optional): The checkpoint's path.

        Raises:
            TeacherCheckpointError: No path, a directory, a truncated or
                damaged file, a file that cannot be read safely or in its
                format, keys missing or of another shape, or weights that
                are NaN or infinite; the message names the file and lists
                the keys.
            FileNotFoundError: A file does not exist.
        """
        if not checkpoint:
            raise TeacherCheckpointError(
                'The teacher has no checkpoint: set model.teacher.checkpoint '
                'to a self-supervised checkpoint (e.g. with --cfg-options '
                'model.teacher.checkpoint=PATH). disco_mm never distils '
                'from a randomly initialised teacher.')
        files = {
            option: path
            for option, path in (('checkpoint', checkpoint),
                                 ('projector_checkpoint',
                                  self.projector_checkpoint)) if path
        }
        for option, path in files.items():
            if osp.isdir(path):
                raise TeacherCheckpointError(
                    f'Teacher {option} {path} is a directory: set '
                    f'model.teacher.{option} to the checkpoint file in it '
                    '(e.g. its epoch_*.pth).')
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'Teacher {option} {path} does not exist: set '
                    f'model.teacher.{option} to the file of a trained '
                    'teacher.')
        try:
            loaded, read_as = read_teacher_checkpoint(
                checkpoint, self.format, self.projector_checkpoint,
                teacher_weights=self.weights())
        except CheckpointFormatError as error:
            raise TeacherCheckpointError(str(error)) from error
        except (RuntimeError, EOFError) as error:
            raise TeacherCheckpointError(
                self._unreadable_message(files, error)) from error
        self.checksums = {
            option: file_sha256(path)
            for option, path in files.items()
        }
        expected = self.weights()
        missing = [key for key in expected if key not in loaded]
        mismatched = [
            f'{key}: checkpoint {tuple(loaded[key].shape)}, '
            f'teacher {tuple(value.shape)}'
            for key, value in expected.items()
            if key in loaded and loaded[key].shape != value.shape
        ]
        if missing or mismatched:
            raise TeacherCheckpointError(
                self._mismatch_message(checkpoint, read_as, missing,
                                       mismatched))
        non_finite = [
            key for key in expected if loaded[key].is_floating_point()
            and not torch.isfinite(loaded[key]).all()
        ]
        if non_finite:
            raise TeacherCheckpointError(
                f'Teacher checkpoint {checkpoint} holds NaN or infinite '
                f'weights in {len(non_finite)} of the teacher\'s '
                f'{len(expected)} tensors:' + listed(non_finite) +
                '\nThe teacher itself diverged or the file is damaged; '
                'distilling from it would give NaN losses. Set '
                'model.teacher.checkpoint to an earlier checkpoint of the '
                'teacher run whose weights are finite.')
        self._load_weights({key: loaded[key] for key in expected})

    def _load_weights(self, weights: Dict[str, torch.Tensor]) -> None:
        """Copies ``weights`` (keys of :meth:`weights`) into the teacher.

        Each part is loaded on its own: the teacher's own load hook
        (``_keep_loaded_weights``) serves its parent's checkpoints only.
        """
        for name, child in self.named_children():
            prefix = f'{name}.'
            child.load_state_dict({
                key[len(prefix):]: value
                for key, value in weights.items() if key.startswith(prefix)
            })

    @contextmanager
    def weights_kept(self) -> Iterator[None]:
        """Restores the teacher's weights when the block ends.

        An ``init_cfg`` of the teacher's parent reaches every submodule,
        the teacher's too; initialising the parent within this block leaves
        the teacher as it was loaded.
        """
        kept = {key: value.clone() for key, value in self.weights().items()}
        yield
        self._load_weights(kept)

    def _fold_batch_norms(self) -> None:
        """Folds the backbone's BatchNorm layers into its convolutions.

        See :func:`~disco_mm.models.utils.folded_batch_norms`; a backbone
        where nothing folds, or the folded copy disagrees, stays as it is.
        """
        probe = torch.randn(
            1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
        folded = folded_batch_norms(self.backbone, probe)
        if folded is None:
            return
        folded_count = sum(
            type(module) is nn.BatchNorm2d
            for module in self.backbone.modules()) - sum(
                type(module) is nn.BatchNorm2d for module in folded.modules())
        self.backbone = folded
        print_log(
            f'The teacher\'s {folded_count} BatchNorm layers are folded into '
            'the convolutions before them (model.teacher.fold_batch_norm'
            '=False keeps them).',
            logger='current')

    @staticmethod
    def _unreadable_message(files: Dict[str, str], error: Exception) -> str:
        """Builds the error for a teacher file torch cannot read."""
        sizes = ', '.join(f'model.teacher.{option}={path} '
                          f'({osp.getsize(path)} bytes)'
                          for option, path in files.items())
        reason = str(error).strip().splitlines()
        return (f'Teacher file {sizes} cannot be read: it is truncated or '
                f'damaged ({type(error).__name__}'
                f'{": " + reason[0] if reason else ""}). Copy or download '
                'it again, or check that it was completely written (a '
                'teacher run killed while saving leaves a cut file).')

    def _cast_to_precision(self) -> None:
        """Casts every weight but BatchNorm's to the teacher's type.

        BatchNorm layers take inputs of the lower precision with float32
        parameters and statistics, which stay precise in ``bn_train_mode``.
        Later loads (a parent's ``load_state_dict``, :meth:`weights_kept`)
        copy into the cast tensors and keep their type.
        """
        for module in self.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                continue
            for tensor in [
                    *module.parameters(recurse=False),
                    *module.buffers(recurse=False)
            ]:
                if tensor.is_floating_point():
                    tensor.data = tensor.data.to(self.reduced_dtype)

    def identity(self) -> Dict[str, str]:
        """Returns the teacher's files and their SHA-256.

        Returns:
            dict: ``checkpoint`` and ``checkpoint_sha256``, and the same
            for ``projector_checkpoint`` when it is set.
        """
        identity = {}
        for option, checksum in self.checksums.items():
            identity[option] = getattr(self, option)
            identity[f'{option}_sha256'] = checksum
        return identity

    def weights(self) -> Dict[str, torch.Tensor]:
        """Returns the teacher's parameters and buffers by name.

        ``state_dict()`` of the teacher is empty on purpose (see the class
        docstring); this is the teacher's full state.

        Returns:
            dict: ``backbone.*`` and ``neck.*`` tensors.
        """
        return {
            f'{name}.{key}': value
            for name, child in self.named_children()
            for key, value in child.state_dict().items()
        }

    def _mismatch_message(self, checkpoint: str, read_as: str,
                          missing: List[str], mismatched: List[str]) -> str:
        """Builds the error that lists what does not fit."""
        message = (f'Teacher checkpoint {checkpoint}, read as {read_as!r} '
                   f'(model.teacher.format={self.format!r}), does not fit '
                   'the teacher built from model.teacher.')
        if missing:
            message += f'\n{len(missing)} keys missing:' + listed(missing)
        if mismatched:
            message += (f'\n{len(mismatched)} keys of another shape:' +
                        listed(mismatched))
        return message + (
            '\nCheck that model.teacher.backbone and model.teacher.neck '
            'describe the architecture the checkpoint was trained with '
            '(depth, widths, projector channels; neck=None for a file '
            'without a projector) and that the format is right (see '
            'docs/teachers.md).')

    def init_weights(self) -> None:
        """Keeps the loaded weights: the teacher is never re-initialised."""

    def train(self, mode: bool = True) -> 'FrozenTeacher':
        """Stays in eval mode unless ``bn_train_mode`` is set.

        Args:
            mode (bool): The mode the parent asks for. Defaults to True.

        Returns:
            FrozenTeacher: self.
        """
        return super().train(mode and self.bn_train_mode)

    @torch.no_grad()
    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Returns the embedding of ``inputs``, L2-normalised by default.

        The embedding is the projector's output, or without a projector the
        average-pooled last feature map of the backbone.

        Args:
            inputs (torch.Tensor): Images, NxCxHxW.

        Returns:
            torch.Tensor: Embeddings, NxD, of the inputs' type (float32 from
            a teacher of lower precision), of unit length unless
            ``normalize`` is False.
        """
        return self._embedding(self.backbone(self._cast(inputs)), inputs.dtype)

    @torch.no_grad()
    def forward_with_patch_tokens(self,
                                  inputs: torch.Tensor) -> TeacherFeatures:
        """Returns the embedding and the patch tokens of ``inputs``.

        Args:
            inputs (torch.Tensor): Images, NxCxHxW.

        Returns:
            TeacherFeatures: The embedding as :meth:`forward` gives it, the
            patch tokens (NxLxC, of the inputs' type) and their grid.
        """
        features, tokens, grid = features_and_patch_tokens(
            self.backbone, self._cast(inputs))
        return TeacherFeatures(
            self._embedding(features, inputs.dtype), tokens.to(inputs.dtype),
            grid)

    def _cast(self, inputs: torch.Tensor) -> torch.Tensor:
        """The inputs in the teacher's type."""
        return inputs.to(self.reduced_dtype) if self.reduced_dtype else inputs

    def _embedding(self, features: Tuple[torch.Tensor, ...],
                   dtype: torch.dtype) -> torch.Tensor:
        """The embedding of the backbone's outputs, in type ``dtype``."""
        if self.neck is None:
            embedding = features[-1].mean(dim=(2, 3))
        else:
            embedding = self.neck(features)[0]
        embedding = embedding.to(dtype)
        return F.normalize(embedding, dim=1) if self.normalize else embedding

    @staticmethod
    def _drop_from_state_dict(module: nn.Module, state_dict: Dict, prefix: str,
                              local_metadata: Dict) -> None:
        """Leaves the teacher's entries out of its parent's state dict."""
        for key in [key for key in state_dict if key.startswith(prefix)]:
            del state_dict[key]

    def _keep_loaded_weights(self, module: nn.Module, state_dict: Dict,
                             prefix: str, *args) -> None:
        """Feeds the teacher its own weights when its parent is loaded.

        A training checkpoint carries no teacher; the teacher keeps the
        weights of its own checkpoint and none is reported missing. Teacher
        entries of a checkpoint from elsewhere are replaced, those of layers
        the teacher folded away included.
        """
        for key in [key for key in state_dict if key.startswith(prefix)]:
            del state_dict[key]
        for key, value in self.weights().items():
            state_dict[prefix + key] = value
