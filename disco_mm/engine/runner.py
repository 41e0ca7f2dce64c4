"""The Runner of disco_mm's configs: checked checkpoints and resumes."""
import os
import os.path as osp
from typing import Dict, List, Optional

from torch import nn

from mmengine.dist import all_gather_object, get_world_size, master_only
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..checkpoints.atomic import (TEMPORARY_SUFFIX, complete_checkpoint,
                                  is_local)
from ..checkpoints.resume import (checkpoint_problem, newest_intact_checkpoint,
                                  read_meta)
from ..messages import listed
from ..models.teachers import FrozenTeacher
from .cpu_distributed import (cpu_model_wrapper_cfg, finish_together,
                              join_cpu_process_group, joins_cpu_process_group)

#: The config key that lets a resume continue with another teacher file.
ALLOW_TEACHER_CHANGE = 'allow_teacher_change'

#: The default hooks mmengine's Runner registers itself; ``None`` for one of
#: them in ``default_hooks`` is handled by mmengine.
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                          'param_scheduler', 'checkpoint')


class CheckpointIntegrityError(RuntimeError):
    """A checkpoint asked for by ``--resume PATH`` is damaged."""


class TeacherChangedError(RuntimeError):
    """The teacher file differs from the one a checkpoint was trained with."""


@RUNNERS.register_module()
class ReliableRunner(Runner):
    """mmengine's Runner with checkpoints that a resume can trust.

    Selected by ``runner_type = 'ReliableRunner'`` (set in
    ``configs/_base_/default_runtime.py``); registered in mmengine's root
    ``RUNNERS`` so that mmpretrain's ``tools/train.py`` finds it too. On top
    of mmengine's Runner:

    * **Complete checkpoints.** A local checkpoint is written to
      ``NAME.tmp``, flushed to disk and renamed; its SHA-256 is written
      beside it (``NAME.sha256``) first. Remote paths (``s3://``, ...) are
      saved by mmengine.
    * **Checked resumes.** ``--resume`` without a path continues the newest
      intact checkpoint by the iteration saved in it (not by file time or
      an absolute path in ``last_checkpoint``): a file whose checksum does
      not match, a truncated or empty file is passed over, and the log
      names it. ``--resume PATH`` refuses a damaged file and names the
      newest intact one.
    * **The teacher of a run.** The SHA-256 of each :class:`FrozenTeacher`
      file is kept in the checkpoint's meta; a resume with another file is
      refused unless the config sets ``allow_teacher_change=True``.
    * **The config's learning rate.** mmengine's resume puts the
      checkpoint's optimizer and scheduler state over the config; a run
      resumed with another ``optim_wrapper.optimizer.lr`` continues with
      that base learning rate: the current learning rate, the optimizer's
      ``initial_lr`` and the schedulers' base values are scaled by the new
      base over the old one, so the schedule continues from where it was at
      the new scale. The log says so.
    * **Default hooks switched off by name.** ``--cfg-options
      default_hooks.NAME=None`` leaves out any default hook, also those
      ``configs/_base_/default_runtime.py`` adds (mmengine allows it only
      for its own and stops at an assertion).
    * **Several processes without a GPU.** With ``--launcher pytorch`` on a
      machine without a GPU, the processes join a gloo group and DDP wraps
      the model without device ids (:mod:`disco_mm.engine.cpu_distributed`);
      each loop ends when every process has finished it. On GPUs mmengine's
      set-up is used as it is.
    """

    def setup_env(self, env_cfg: Dict) -> None:
        """Joins the gloo group of a CPU-only run, then sets up as mmengine.

        Args:
            env_cfg (dict): The config's ``env_cfg``.
        """
        self._cpu_processes = joins_cpu_process_group(self.launcher)
        if self._cpu_processes:
            join_cpu_process_group()
        super().setup_env(env_cfg)

    def register_default_hooks(self,
                               hooks: Optional[Dict[str, Dict]] = None
                               ) -> None:
        """Registers the default hooks, leaving out those set to ``None``.

        Args:
            hooks (dict, optional): The config's ``default_hooks``.
        """
        if hooks is not None:
            hooks = {
                name: hook
                for name, hook in hooks.items()
                if hook is not None or name in MMENGINE_DEFAULT_HOOKS
            }
        super().register_default_hooks(hooks)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        """Wraps the model as mmengine does, without device ids on CPUs.

        Args:
            model_wrapper_cfg (dict, optional): The config's
                ``model_wrapper_cfg``; one of its own is kept as it is.
            model (nn.Module): The model.

        Returns:
            nn.Module: The (wrapped) model.
        """
        if self._cpu_processes and model_wrapper_cfg is None:
            model_wrapper_cfg = cpu_model_wrapper_cfg(
                self.cfg.get('find_unused_parameters', False))
            self.logger.info(
                f'No GPU: {self.world_size} processes in a gloo group, the '
                f'model wrapped as {model_wrapper_cfg}.')
        return super().wrap_model(model_wrapper_cfg, model)

    def train(self) -> nn.Module:
        """Trains as mmengine does; CPU processes finish together."""
        model = super().train()
        self._finish_together()
        return model

    def val(self) -> dict:
        """Validates as mmengine does; CPU processes finish together."""
        metrics = super().val()
        self._finish_together()
        return metrics

    def test(self) -> dict:
        """Tests as mmengine does; CPU processes finish together."""
        metrics = super().test()
        self._finish_together()
        return metrics

    def _finish_together(self) -> None:
        """Waits for every process of a CPU-only run to end its loop.

        See :func:`~disco_mm.engine.cpu_distributed.finish_together`.
        """
        if self._cpu_processes:
            finish_together()

    def load_or_resume(self) -> None:
        """Resumes the checked checkpoint, or loads ``load_from``.

        Raises:
            CheckpointIntegrityError: ``--resume PATH`` names a damaged file.
        """
        if self._has_loaded:
            return
        resume_from = None
        if self._resume and self._load_from is None:
            resume_from = self._newest_intact_checkpoint()
        elif self._resume:
            resume_from = self._load_from
            if is_local(resume_from):
                self._refuse_damaged(resume_from)
        if self._resume and get_world_size() > 1:
            self._check_same_checkpoint_everywhere(resume_from)
        if resume_from is not None:
            self.resume(resume_from)
        elif self._load_from is not None:
            self.load_checkpoint(self._load_from)

    def _check_same_checkpoint_everywhere(self,
                                          resume_from: Optional[str]) -> None:
        """Refuses a resume that processes would start from different files.

        Only process 0 writes checkpoints; on nodes that do not share the
        work dir the other processes would find none (or old ones) and the
        processes would train from different states.
        """
        choice = None
        if resume_from is not None:
            choice = osp.basename(resume_from)
            if is_local(resume_from):
                choice += f' (iteration {read_meta(resume_from)["iter"]})'
        choices = all_gather_object(choice)
        if len(set(choices)) == 1:
            return
        raise RuntimeError(
            'The processes of this run would resume different checkpoints:' +
            listed([f'rank {rank}: {choice}'
                    for rank, choice in enumerate(choices)]) +
            '\nOnly rank 0 saves checkpoints: the work dir must be on a file '
            'system every node shares (or be copied to each node before '
            '--resume).')

    def _newest_intact_checkpoint(self) -> Optional[str]:
        """Picks the checkpoint ``--resume`` continues and logs the choice."""
        chosen, passed_over = newest_intact_checkpoint(self.work_dir)
        if passed_over:
            self.logger.warning(
                f'Not resuming {len(passed_over)} damaged or unreadable '
                f'checkpoint(s) of {self.work_dir}:' +
                listed([f'{path}: {problem}'
                        for path, problem in passed_over]))
        if chosen is None:
            self.logger.info(
                f'No intact checkpoint in {self.work_dir}: training starts '
                'from the beginning.')
        else:
            self.logger.info(f'Resuming the newest intact checkpoint, '
                             f'{chosen}.')
        return chosen

    def _refuse_damaged(self, filename: str) -> None:
        """Raises when the checkpoint asked for cannot be resumed."""
        problem = checkpoint_problem(filename)
        if problem is None:
            return
        chosen, _ = newest_intact_checkpoint(self.work_dir)
        alternative = (f'The newest intact checkpoint of {self.work_dir} is '
                       f'{chosen}: resume it with --resume {chosen}, or with '
                       '--resume alone.' if chosen else
                       f'{self.work_dir} has no intact checkpoint.')
        raise CheckpointIntegrityError(
            f'Cannot resume {filename}: {problem}. {alternative}')

    def resume(self,
               filename: str,
               resume_optimizer: bool = True,
               resume_param_scheduler: bool = True,
               map_location='default') -> None:
        """Resumes ``filename`` after checking its teacher.

        Also records it as the run's last checkpoint and applies the
        config's learning rate (see the class docstring).

        Args:
            filename (str): The checkpoint.
            resume_optimizer (bool): Restore the optimizer. Defaults to True.
            resume_param_scheduler (bool): Restore the schedulers. Defaults
                to True.
            map_location (str or callable): Where tensors go. Defaults to
                ``'default'`` (the current device).

        Raises:
            TeacherChangedError: The teacher files differ from the ones the
                checkpoint was trained with, and ``allow_teacher_change`` is
                not set.
        """
        if is_local(filename):
            self._check_teacher(filename, read_meta(filename))
        configured = self._base_learning_rates()
        super().resume(filename, resume_optimizer, resume_param_scheduler,
                       map_location)
        # The message hub came from the checkpoint, which may have been
        # written in another work dir; name the file that was resumed.
        self.message_hub.update_info('last_ckpt', filename)
        if resume_optimizer:
            self._apply_configured_learning_rates(configured)

    def _teachers(self) -> Dict[str, FrozenTeacher]:
        """The model's frozen teachers by module name."""
        model = self.model.module if is_model_wrapper(
            self.model) else self.model
        return {
            name: module
            for name, module in model.named_modules()
            if isinstance(module, FrozenTeacher)
        }

    def _check_teacher(self, filename: str, meta: dict) -> None:
        """Refuses a resume whose teacher files changed."""
        current = {
            name: teacher.identity()
            for name, teacher in self._teachers().items()
        }
        if not current:
            return
        if 'teachers' not in meta:
            self.logger.warning(
                f'{filename} records no teacher checksum (saved without '
                'ReliableRunner): the teacher cannot be checked.')
            return
        saved = meta['teachers']
        changed = [
            f'{name}: {field} is {current[name].get(field)}, the checkpoint '
            f'was trained with {value}' for name in sorted(
                set(current) | set(saved))
            for field, value in saved.get(name, {}).items()
            if field.endswith('_sha256')
            and current.get(name, {}).get(field) != value
        ]
        if not changed:
            return
        message = (f'The teacher differs from the one {filename} was trained '
                   'with:' + listed(changed))
        if self.cfg.get(ALLOW_TEACHER_CHANGE, False):
            self.logger.warning(
                message + f'\nResuming anyway ({ALLOW_TEACHER_CHANGE}=True).')
            return
        raise TeacherChangedError(
            message + '\nResuming would distil the rest of the run from '
            'another teacher. Put the original teacher file back, or set '
            f'--cfg-options {ALLOW_TEACHER_CHANGE}=True to continue with '
            'this one.')

    def _optimizers(self) -> list:
        """The torch optimizers of the optimizer wrapper."""
        if isinstance(self.optim_wrapper, OptimWrapperDict):
            return [
                wrapper.optimizer
                for wrapper in self.optim_wrapper.optim_wrappers.values()
            ]
        return [self.optim_wrapper.optimizer]

    def _base_learning_rates(self) -> List[List[float]]:
        """The configured base learning rate of every parameter group."""
        if not isinstance(self.optim_wrapper, OptimWrapper):
            return []  # not built yet: mmengine's resume builds it
        return [[group.get('initial_lr', group['lr'])
                 for group in optimizer.param_groups]
                for optimizer in self._optimizers()]

    def _apply_configured_learning_rates(
            self, configured: List[List[float]]) -> None:
        """Continues the schedule at the configured base learning rate."""
        optimizers = self._optimizers()
        schedulers = self.param_schedulers or []
        if isinstance(schedulers, dict):
            schedulers = [s for group in schedulers.values() for s in group]
        for optimizer, bases in zip(optimizers, configured):
            for index, (group, base) in enumerate(
                    zip(optimizer.param_groups, bases)):
                resumed_base = group.get('initial_lr', group['lr'])
                if base == resumed_base:
                    continue
                resumed_lr = group['lr']
                group['lr'] = resumed_lr * base / resumed_base
                group['initial_lr'] = base
                for scheduler in schedulers:
                    if (scheduler.optimizer.param_groups is
                            optimizer.param_groups
                            and scheduler.param_name == 'lr'):
                        scheduler.base_values[index] = base
                        scheduler._last_value[index] = group['lr']
                self.logger.info(
                    f'Learning rate of parameter group {index} from the '
                    f'config, not the checkpoint: base {base:.4e} (checkpoint '
                    f'{resumed_base:.4e}); the schedule continues at '
                    f'lr {group["lr"]:.4e} (was {resumed_lr:.4e}).')

    @master_only
    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        """Saves a checkpoint that is complete or absent, with its checksum.

        Arguments as mmengine's ``Runner.save_checkpoint``; the checksums of
        the teacher files are added to ``meta['teachers']``.
        """
        meta = dict(meta or {})
        meta['teachers'] = {
            name: teacher.identity()
            for name, teacher in self._teachers().items()
        }
        arguments = dict(
            file_client_args=file_client_args,
            save_optimizer=save_optimizer,
            save_param_scheduler=save_param_scheduler,
            meta=meta,
            by_epoch=by_epoch,
            backend_args=backend_args)
        if file_client_args or backend_args or not is_local(out_dir):
            super().save_checkpoint(out_dir, filename, **arguments)
            return
        temporary = osp.join(out_dir, filename + TEMPORARY_SUFFIX)
        try:
            super().save_checkpoint(out_dir, filename + TEMPORARY_SUFFIX,
                                    **arguments)
            complete_checkpoint(temporary, osp.join(out_dir, filename))
        except BaseException:
            if osp.exists(temporary):
                os.remove(temporary)
            raise
