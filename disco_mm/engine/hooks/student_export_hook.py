"""The student exported for deployment while it trains."""
import logging
import os.path as osp
from typing import Optional

from mmengine.config import ConfigDict
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from ...checkpoints import (EXPORT_TARGETS, CheckpointFormatError,
                            export_loaded_student)
from ...checkpoints.stock_models import stock_model_name

#: Where a student goes when the hook is given no target: timm when timm's
#: stock model loads it, else mmpretrain (its own backbone config does).
NATIVE_TARGETS = ('timm', 'mmpretrain')


def student_backbone_cfg(model_cfg: ConfigDict) -> Optional[dict]:
    """The config of the student's backbone, without its ``init_cfg``.

    Args:
        model_cfg (ConfigDict): The training config's ``model``: the
            backbone is ``model.backbone``, or ``model.student.backbone``
            for a ``DistilledSelfSup``.

    Returns:
        dict, optional: The backbone's config; None when neither is set.
    """
    backbone = model_cfg.get('backbone') or model_cfg.get(
        'student', {}).get('backbone')
    if backbone is None:
        return None
    backbone = backbone.to_dict() if isinstance(backbone,
                                                ConfigDict) else backbone
    return {key: value for key, value in backbone.items() if key != 'init_cfg'}


def load_snippet(path: str, to: str, timm_name: Optional[str],
                 backbone_cfg: Optional[dict]) -> str:
    """The Python line that builds the native model and loads ``path``.

    Args:
        path (str): The exported file.
        to (str): Its format: ``'timm'`` or ``'mmpretrain'`` (others are
            described by :func:`~disco_mm.checkpoints.export_student`).
        timm_name (str, optional): The timm model, for ``'timm'``.
        backbone_cfg (dict, optional): The student's backbone config, for
            ``'mmpretrain'``.

    Returns:
        str: e.g. ``import timm, torch; model = timm.create_model(...)``.
    """
    if to == 'timm':
        return (f'import timm, torch; model = timm.create_model('
                f'{timm_name!r}, num_classes=0); '
                f'model.load_state_dict(torch.load({path!r}))')
    if to == 'mmpretrain' and backbone_cfg is not None:
        return ('import torch, disco_mm; from mmpretrain.registry import '
                f'MODELS; model = MODELS.build({backbone_cfg!r}); '
                "model.load_state_dict({key[len('backbone.'):]: value for "
                f"key, value in torch.load({path!r})['state_dict'].items()}})")
    return (f'see extract_student.py --to {to} in docs/evaluation.md for '
            'the model that loads it')


@HOOKS.register_module()
class StudentExportHook(Hook):
    """Exports the student backbone at the end of training, in its format.

    The main process writes ``work_dir/student_epoch_{N}_{format}.pth``
    after the last epoch, and after every ``interval`` epochs when set,
    through :func:`~disco_mm.checkpoints.export_loaded_student` (the code
    of ``tools/model_converters/extract_student.py``): the backbone alone,
    checked against the target library's stock model. The log (console and
    file) gets the Python line that loads it. A student that cannot be
    exported (no ``backbone``, or one the target does not take) is skipped
    with one log line; training goes on.

    Args:
        interval (int, optional): Also export every ``interval`` epochs.
            Defaults to None: only at the end.
        to (str, optional): One of
            :data:`~disco_mm.checkpoints.EXPORT_TARGETS`. Defaults to None:
            ``'timm'`` when ``timm.create_model(name, num_classes=0)``
            loads the student strictly (a timm student by its
            ``model_name``, a ResNet of a stock depth and width), else
            ``'mmpretrain'`` (the student's own backbone config loads it).
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 interval: Optional[int] = None,
                 to: Optional[str] = None) -> None:
        if interval is not None and interval < 1:
            raise ValueError(
                f'interval must be a number of epochs >= 1 or None (only at '
                f'the end), got {interval}: fix '
                'default_hooks.student_export.interval.')
        if to is not None and to not in EXPORT_TARGETS:
            raise ValueError(
                f'to must be one of {EXPORT_TARGETS} or None (its native '
                f'format), got {to!r}: fix default_hooks.student_export.to.')
        self.interval = interval
        self.to = to
        self.exported_epoch: Optional[int] = None

    def after_train_epoch(self, runner) -> None:
        """Exports after every ``interval`` epochs."""
        if self.interval and self.every_n_epochs(runner, self.interval):
            # the loop counts the epoch as done after these hooks
            self.export(runner, runner.epoch + 1)

    def after_train(self, runner) -> None:
        """Exports the final student (once, if the last epoch already did)."""
        if self.exported_epoch != runner.epoch:
            self.export(runner, runner.epoch)

    def export(self, runner, epoch: int) -> Optional[str]:
        """Writes the student after ``epoch`` and logs how to load it.

        Args:
            runner (Runner): The runner.
            epoch (int): The epochs trained (1-based, as in the file name).

        Returns:
            str, optional: The file written; None on other processes or
            when the student was skipped.
        """
        self.exported_epoch = epoch
        if not is_main_process():
            return None
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        state = {
            key: value.detach().cpu()
            for key, value in model.state_dict().items()
            if key.startswith('backbone.')
        }
        backbone_cfg = student_backbone_cfg(runner.cfg.model)
        timm_name = (backbone_cfg or {}).get('model_name')
        source = f'the student of epoch {epoch}'
        targets = NATIVE_TARGETS if self.to is None else (self.to, )
        problems = []
        for to in targets:
            path = osp.join(runner.work_dir,
                            f'student_epoch_{epoch}_{to}.pth')
            try:
                weights = export_loaded_student(
                    dict(state_dict=state), source, path, to, timm_name)
            except CheckpointFormatError as error:
                problems.append(f'{to}: {error}'.replace('\n', ' '))
                continue
            if to == 'timm':
                timm_name = stock_model_name(weights, {}, to, timm_name,
                                             source)
            snippet = load_snippet(path, to, timm_name, backbone_cfg)
            print_log(
                f'Student of epoch {epoch} exported for {to}: {path}; '
                f'load it with: {snippet}',
                logger='current')
            return path
        print_log(
            f'Student export skipped: {" / ".join(problems)}',
            logger='current',
            level=logging.WARNING)
        return None
