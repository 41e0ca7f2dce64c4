"""Training configs through ``tools/train.py`` on real files.

:class:`ConfigRuns` runs configs, ``PARALLEL_RUNS`` at a time, on the
image files of :mod:`real_files` with small overrides (data root, batch
size, one epoch, queue lengths, a random teacher file written once per
architecture in the layout its release has); the test modules of
``tests/test_tools/`` that train configs share it.
"""
import glob
import json
import os
import os.path as osp
import re
import shutil
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

import torch
from mmengine.config import Config

from checkpoint_layouts import encoder_tensors, moco_file, teacher_state_dict
from queues import queue_options
from repo_paths import REPO_ROOT
from transformer_layouts import (DINOV3_VIT_S, VIT_S, XCIT_S12,
                                 dino_full_checkpoint, dino_head_layout,
                                 dinov3_vit_weights, random_weights,
                                 vit_layout, xcit_layout)

#: Images per batch of every ImageNet-layout run: 8 training images make
#: 2 iterations.
BATCH_SIZE = 4
#: Trainings at once: one per core of a 2-core machine.
PARALLEL_RUNS = min(2, os.cpu_count() or 1)


#: The released layout of each transformer teacher, by timm model: DINO's
#: ViT-S/16 and XCiT-S12/16, DINOv2's ViT-S/14 (trained at 518 px).
TRANSFORMER_LAYOUTS = {
    'vit_small_patch16_224': lambda: vit_layout(**VIT_S, patch=16, grid=14),
    'xcit_small_12_p16_224': lambda: xcit_layout(**XCIT_S12),
    'vit_small_patch14_dinov2': lambda: vit_layout(
        **VIT_S, patch=14, grid=37, layer_scale=True, mask_token=True),
}

#: The released DINOv3 files (storage tokens, RoPE periods, masked key
#: bias), by timm model: their tensors.
DINOV3_FILES = {
    'vit_small_patch16_dinov3_qkvb':
    lambda: dinov3_vit_weights(**DINOV3_VIT_S),
}


def teacher_layout(teacher: dict) -> str:
    """The published layout a test teacher file of this config is written in.

    A ResNet-50 with MoCo's projector is written as facebookresearch/moco
    saves it, a ResNet-50w2 with SwAV's as facebookresearch/swav does, a
    ViT or XCiT with DINO's head as facebookresearch/dino's training
    checkpoint (its tensors-only copy), DINOv2's and DINOv3's ViTs as their
    released backbones, and anything else (the digits teachers) as
    mmpretrain does.
    """
    backbone, neck = teacher['backbone'], teacher.get('neck') or {}
    if backbone.get('depth') == 50 and neck.get('type') == 'MoCoV2Neck':
        return 'moco'
    if backbone.get('depth') == 50 and neck.get('type') == 'BatchNormMLPNeck':
        return 'swav'
    if backbone.get('model_name') in DINOV3_FILES:
        return 'dinov3'
    if backbone.get('model_name') in TRANSFORMER_LAYOUTS:
        return 'dino' if neck.get('type') == 'DINOProjector' else 'dinov2'
    return 'mmpretrain'


def write_teacher(teacher: dict, path: str) -> None:
    """Writes a random teacher for ``teacher`` (a FrozenTeacher config)."""
    layout = teacher_layout(teacher)
    backbone, neck = teacher['backbone'], teacher['neck']
    width = backbone.get('base_channels', 64)
    if layout == 'moco':
        state = encoder_tensors(
            'module.encoder_q.', 50, width,
            ('fc.', 'mlp', neck['hid_channels'], neck['out_channels']))
        # MoCo's queue of keys, one a column, as long as the test runs'.
        state['module.queue'] = torch.randn(neck['out_channels'],
                                            2 * BATCH_SIZE)
        state['module.queue_ptr'] = torch.zeros(1, dtype=torch.long)
        torch.save(moco_file(state), path)
    elif layout == 'swav':
        state = encoder_tensors(
            'module.', 50, width,
            ('projection_head.', 'bn_mlp', neck['hid_channels'],
             neck['out_channels']))
        state['module.prototypes.weight'] = torch.randn(
            3000, neck['out_channels'])
        torch.save(state, path)
    elif layout == 'dino':
        model_name = backbone['model_name']
        weights = random_weights(TRANSFORMER_LAYOUTS[model_name]())
        # DINO wraps a backbone with BatchNorm (XCiT) in DDP
        torch.save(
            dino_full_checkpoint(
                weights,
                random_weights(dino_head_layout(neck['in_channels'])),
                wrapped_teacher=model_name.startswith('xcit')), path)
    elif layout == 'dinov2':
        torch.save(
            random_weights(TRANSFORMER_LAYOUTS[backbone['model_name']]()),
            path)
    elif layout == 'dinov3':
        torch.save(DINOV3_FILES[backbone['model_name']](), path)
    else:
        torch.save({'state_dict': teacher_state_dict(backbone, neck)}, path)


def teacher_files(root) -> Callable[[dict], str]:
    """Returns a function giving a random teacher file for a config.

    Files are written under ``root`` (a ``pathlib.Path``) once per
    architecture and layout, by one of the trainings that run at once.
    """
    written, lock = {}, threading.Lock()

    def file_for(teacher: dict) -> str:
        key = json.dumps([teacher['backbone'], teacher.get('neck')],
                         sort_keys=True)
        with lock:
            if key not in written:
                path = str(root / f'teacher_{len(written)}.pth')
                write_teacher(teacher, path)
                written[key] = path
            return written[key]

    return file_for


def dataset_root_options(prefix: str, dataset: dict, real_data: dict,
                         bag_file: str = None) -> list:
    """The ``--cfg-options`` pointing a data set config at the test files."""
    kind = dataset['type']
    if kind == 'NeighbourBagDataset':
        return [f'{prefix}.bag_file={bag_file}'] + dataset_root_options(
            f'{prefix}.dataset', dataset['dataset'], real_data)
    if kind == 'ImageNet':
        return [f'{prefix}.data_root={real_data["imagenet"]["root"]}']
    if kind in ('CIFAR10', 'CIFAR100'):
        num_classes = int(kind[len('CIFAR'):])
        return [f'{prefix}.data_root={real_data["cifar"][num_classes]["root"]}']
    if kind == 'CheckedCustomDataset':
        return [f'{prefix}.data_root={real_data["folder"]}']
    if kind == 'Digits':  # shipped with scikit-learn
        return []
    raise AssertionError(f'No test data for data sets of type {kind}')


def cifar_in(cfg: Config) -> bool:
    """Whether a config reads mmpretrain's CIFAR files."""
    return any(
        cfg.get(loader) and cfg[loader].dataset.type.startswith('CIFAR')
        for loader in ('train_dataloader', 'val_dataloader'))


class ConfigRuns:
    """Runs configs once each, ``PARALLEL_RUNS`` at a time, and remembers
    their checkpoints.

    A run starts (:meth:`start`) in a pool of threads, each waiting on its
    tool's process; :meth:`train` waits for it. The pool starts runs in the
    order they were asked for, so a run that waits for another (an
    evaluation config for its pretraining config) never waits for one that
    has not started, if the other was asked for first. A test that is done
    with a run's files removes them (:meth:`release`) unless a later test
    reads its checkpoint (``kept``).
    """

    def __init__(self, real_data, teacher_file, tmp_path_factory, run_tool):
        self.real_data = real_data
        self.run_tool = run_tool
        self.teacher_file = teacher_file
        self.tmp_path_factory = tmp_path_factory
        self.pool = ThreadPoolExecutor(PARALLEL_RUNS)
        self.runs = {}
        self.lock = threading.Lock()
        self.logs = {}
        self.run_dirs = {}
        self.kept = set()

    def options(self, cfg: Config, extra_options: tuple = ()) -> list:
        """The overrides of one config's run (see the module docstring).

        Args:
            cfg (Config): The config.
            extra_options (tuple): The run's own ``--cfg-options``, which
                BINGO's bags are built with too. Defaults to none.
        """
        train = cfg.train_dataloader
        is_digits = train.dataset.type == 'Digits'
        options = ['train_cfg.max_epochs=1', 'default_hooks.logger.interval=1']
        if not is_digits:
            options.append(f'train_dataloader.batch_size={BATCH_SIZE}')
            options += queue_options(cfg.model, 2 * BATCH_SIZE)
        bag_file = None
        if train.dataset.type == 'NeighbourBagDataset':
            bag_file = self.bingo_bags(cfg, extra_options)
        options += dataset_root_options('train_dataloader.dataset',
                                        train.dataset, self.real_data,
                                        bag_file)
        if cfg.get('val_dataloader'):
            options += dataset_root_options('val_dataloader.dataset',
                                            cfg.val_dataloader.dataset,
                                            self.real_data)
            if not is_digits:
                options.append(f'val_dataloader.batch_size={BATCH_SIZE}')
        if cfg.model.get('teacher'):
            options.append('model.teacher.checkpoint=' +
                           self.teacher_file(cfg.model.teacher.to_dict()))
        if cfg.model.type == 'ImageClassifier':
            options.append('model.backbone.init_cfg.checkpoint=' +
                           self.pretrained_student(cfg))
        return options

    def environment(self, cfg: Config) -> dict:
        """Environment of a run: CIFAR's checksums of the test files."""
        if cifar_in(cfg):
            return dict(PYTHONPATH=self.real_data['cifar_checksums'])
        return {}

    @staticmethod
    def pretraining_config(cfg: Config) -> str:
        """The pretraining config an evaluation config names.

        Its ``init_cfg.checkpoint`` is ``work_dirs/<pretraining config>/...``.
        """
        named = cfg.model.backbone.init_cfg.checkpoint
        name = named.split('/')[1]
        matches = glob.glob(
            osp.join(REPO_ROOT, 'configs', '*', f'{name}.py'))
        assert len(matches) == 1, f'{named} names no pretraining config'
        return osp.relpath(matches[0], REPO_ROOT)

    def pretrained_student(self, cfg: Config) -> str:
        """The checkpoint of the pretraining config an evaluation config names.
        """
        return self.train(self.pretraining_config(cfg))

    def bingo_bags(self, cfg: Config, extra_options: tuple = ()) -> str:
        """BINGO's bags of the test images, by the documented tool."""
        path = str(self.tmp_path_factory.mktemp('bags') / 'bags.npy')
        options = dataset_root_options('train_dataloader.dataset.dataset',
                                       cfg.train_dataloader.dataset.dataset,
                                       self.real_data) + list(extra_options)
        self.run_tool([
            sys.executable, 'tools/analysis_tools/build_bingo_bags.py',
            cfg.filename,
            self.teacher_file(cfg.model.teacher.to_dict()), '--out', path,
            *(['--cfg-options', *options] if options else [])
        ])
        return path

    def start(self, config: str, tool: str = 'tools/train.py',
              extra_options: tuple = ()) -> Future:
        """Starts training ``config`` for one epoch, unless it was started.

        Args:
            config (str): The config, relative to the repository.
            tool (str): The training script. Defaults to ours.
            extra_options (tuple): More ``--cfg-options``.

        Returns:
            Future: Its checkpoint.
        """
        key = (config, tool, extra_options)
        with self.lock:
            if key not in self.runs:
                self.runs[key] = self.pool.submit(self._train, *key)
            return self.runs[key]

    def train(self, config: str, tool: str = 'tools/train.py',
              extra_options: tuple = ()) -> str:
        """Trains ``config`` for one epoch (once); returns its checkpoint.

        Args are those of :meth:`start`.
        """
        return self.start(config, tool, extra_options).result()

    def release(self, config: str, tool: str = 'tools/train.py',
                extra_options: tuple = ()):
        """Removes a finished run's files, unless its config is ``kept``.

        Args are those of :meth:`start`.
        """
        if config not in self.kept:
            shutil.rmtree(self.run_dirs.pop((config, tool, extra_options)))

    def _train(self, config: str, tool: str, extra_options: tuple) -> str:
        cfg = Config.fromfile(osp.join(REPO_ROOT, config))
        run_dir = self.tmp_path_factory.mktemp('run')
        self.run_dirs[config, tool, extra_options] = run_dir
        work_dir = str(run_dir / 'work_dir')
        log = self.run_tool(
            [sys.executable, tool, config, '--work-dir', work_dir,
             '--cfg-options', *self.options(cfg, extra_options),
             *extra_options],
            timeout=900,
            **self.environment(cfg))
        checkpoint = osp.join(work_dir, 'epoch_1.pth')
        assert osp.isfile(checkpoint), log[-3000:]
        self.logs[config, tool, extra_options] = log
        return checkpoint

    def test(self, config: str, checkpoint: str) -> str:
        """Runs ``tools/test.py`` on an evaluation config."""
        cfg = Config.fromfile(osp.join(REPO_ROOT, config))
        options = [
            option for option in self.options(cfg)
            if not option.startswith(('train_cfg', 'model.backbone.init_cfg'))
        ]
        options = [
            option.replace('val_dataloader', 'test_dataloader')
            for option in options if not option.startswith('train_dataloader')
        ]
        work_dir = str(self.tmp_path_factory.mktemp('test') / 'work_dir')
        return self.run_tool(
            [sys.executable, 'tools/test.py', config, checkpoint,
             '--work-dir', work_dir, '--cfg-options', *options],
            timeout=900,
            **self.environment(cfg))


def first_iteration_losses(log: str) -> dict:
    """The loss terms logged for iteration 1 of epoch 1."""
    line = re.search(r'Epoch\(train\)\s*\[1\]\[1/\d+\].*', log)
    assert line, log[-3000:]
    return dict(re.findall(r'(loss\w*): (\S+)', line.group(0)))

