"""The frozen self-supervised teacher that a student is distilled from."""
import os.path as osp
import pickle
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn

#: How many offending keys an error message lists before summarising.
MAX_KEYS_LISTED = 20


class TeacherCheckpointError(ValueError):
    """A teacher checkpoint does not fit the teacher built from the config."""


def _listed(keys: List[str]) -> str:
    """Formats a key list for an error message, summarising long lists."""
    shown = '\n  '.join(keys[:MAX_KEYS_LISTED])
    more = len(keys) - MAX_KEYS_LISTED
    return f'\n  {shown}' + (f'\n  ... and {more} more' if more > 0 else '')


@MODELS.register_module()
class FrozenTeacher(BaseModule):
    """A backbone and projector loaded from a checkpoint and never trained.

    The teacher is built from its config and loaded at once, so a wrong
    checkpoint stops the run before the first iteration. Every parameter and
    buffer the teacher has must be in the checkpoint with the same shape;
    keys the teacher does not use (a momentum encoder, a queue) are ignored.
    The parameters never require gradients, ``init_weights`` leaves them as
    loaded, and the teacher stays in eval mode when its parent calls
    ``train()`` unless ``bn_train_mode`` asks for the official code's
    behaviour (BatchNorm on batch statistics).

    The teacher is not part of its parent's ``state_dict``: it is restored
    from its own checkpoint, so training checkpoints stay small and resuming
    never replaces it.

    Args:
        backbone (dict): Config of the teacher backbone.
        neck (dict): Config of the teacher projector.
        checkpoint (str): Path of a checkpoint whose ``state_dict`` (or the
            file itself) holds ``backbone.*`` and ``neck.*`` entries, as
            mmpretrain's self-supervised checkpoints do.
        bn_train_mode (bool): Keep BatchNorm in train mode while the parent
            trains, as the official DisCo code does. Defaults to False.
        init_cfg (dict, optional): Unused; weights come from ``checkpoint``.
            Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 checkpoint: Optional[str],
                 bn_train_mode: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.checkpoint = checkpoint
        self.bn_train_mode = bn_train_mode
        self.load_checkpoint(checkpoint)
        self.requires_grad_(False)
        self.train(False)
        self._register_state_dict_hook(self._drop_from_state_dict)
        self._register_load_state_dict_pre_hook(
            self._keep_loaded_weights, with_module=True)

    def load_checkpoint(self, checkpoint: Optional[str]) -> None:
        """Loads every teacher key from ``checkpoint`` or raises.

        Args:
            checkpoint (str, optional): The checkpoint's path.

        Raises:
            TeacherCheckpointError: No path, or keys missing or of another
                shape; the message lists them.
            FileNotFoundError: The file does not exist.
        """
        if not checkpoint:
            raise TeacherCheckpointError(
                'The teacher has no checkpoint: set model.teacher.checkpoint '
                'to a self-supervised checkpoint (e.g. with --cfg-options '
                'model.teacher.checkpoint=PATH). disco_mm never distils '
                'from a randomly initialised teacher.')
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(
                f'Teacher checkpoint {checkpoint} does not exist: set '
                'model.teacher.checkpoint to the file of a trained teacher.')
        try:
            loaded = torch.load(
                checkpoint, map_location='cpu', weights_only=True)
        except pickle.UnpicklingError as error:
            raise TeacherCheckpointError(
                f'Teacher checkpoint {checkpoint} holds objects that only '
                'load by running code from the file, which disco_mm never '
                'does. Save its state dict alone (tensors only) and point '
                f'model.teacher.checkpoint at that file.\n{error}') from error
        loaded = loaded.get('state_dict', loaded)
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
                self._mismatch_message(checkpoint, missing, mismatched))
        # Each part is loaded on its own: the teacher's own load hook
        # (_keep_loaded_weights) serves its parent's checkpoints only.
        for name, child in self.named_children():
            prefix = f'{name}.'
            child.load_state_dict({
                key[len(prefix):]: loaded[key]
                for key in expected if key.startswith(prefix)
            })

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

    def _mismatch_message(self, checkpoint: str, missing: List[str],
                          mismatched: List[str]) -> str:
        """Builds the error that lists what does not fit."""
        message = (f'Teacher checkpoint {checkpoint} does not fit the '
                   'teacher built from model.teacher.')
        if missing:
            message += f'\n{len(missing)} keys missing:' + _listed(missing)
        if mismatched:
            message += (f'\n{len(mismatched)} keys of another shape:' +
                        _listed(mismatched))
        return message + (
            '\nCheck that model.teacher.backbone and model.teacher.neck '
            'describe the architecture the checkpoint was trained with '
            '(depth, widths, projector channels) and that its keys start '
            'with backbone. and neck.')

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
        """Returns the L2-normalised embedding of ``inputs``.

        Args:
            inputs (torch.Tensor): Images, NxCxHxW.

        Returns:
            torch.Tensor: Embeddings, NxD, unit length.
        """
        return F.normalize(self.neck(self.backbone(inputs))[0], dim=1)

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
        weights of its own checkpoint and none is reported missing.
        """
        for key, value in self.weights().items():
            state_dict[prefix + key] = value
