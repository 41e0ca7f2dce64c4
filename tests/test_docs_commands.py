"""Every command of README.md and docs/*.md runs, as written, on test files.

The commands of each ```bash block are run in order, one file after the
other, in a folder laid out as a user's: ``configs/`` and ``tools/`` of this
repository, ImageNet / CIFAR / image-folder data under ``data/`` and the
downloaded teacher files under the names the docs use (all written at test
time by :mod:`real_files` and :mod:`checkpoint_layouts`), so that later
commands find what earlier ones wrote.

A command that cannot run as written on this machine says why in a comment
line right above it, and the test treats it so:

* ``# needs ImageNet at scale``, ``# needs a large image folder`` or
  ``# takes about N minutes``: run as
  written plus a budget - ``tools/train.py`` one epoch (of 4 images a
  batch, but for the digits), ``benchmark_train.py`` one step of 4
  images, ``benchmark_convs.py`` one timed call per layer, ``demo.sh``
  ``--quick`` (each last checkpoint of a run is then also linked under the
  name the full schedule writes);
* ``# needs N GPUs``, ``# needs mmdet``, ``# needs Slurm``, ``# runs the
  test suite``, ``# installs into the active environment`` and ``# needs
  lightly-train``: not run; every config and tool it names must exist.
"""
import glob
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from checkpoint_layouts import encoder_tensors, moco_file
from queues import queue_options
from repo_paths import REPO_ROOT
from real_files import (cifar_checksum_module, make_cifar_tree,
                        make_image_folder, make_imagenet_tree)
from transformer_layouts import (DINOV3_VIT_S, VIT_S, dino_full_checkpoint,
                                 dino_head_layout, dinov3_vit_weights,
                                 random_weights, vit_layout)

pytestmark = pytest.mark.slow

#: The documents, in the order their commands run.
DOCUMENTS = ('docs/teachers.md', 'README.md', 'docs/evaluation.md',
             'docs/reliability.md', 'docs/benchmarks.md')
#: Why a command is not run as written: the comment that says so, and
#: whether it runs with a budget (True) or not at all (False).
REASONS = {
    r'needs ImageNet at scale': True,
    r'needs a large image folder': True,
    r'takes about (a|\d+) minutes?': True,
    r'needs (a|\d+) GPUs?': False,
    r'needs mmdet': False,
    r'needs Slurm': False,
    r'runs the test suite': False,
    r'installs into the active environment': False,
    r'needs lightly-train': False,
}
#: The batch of a budget run.
BATCH_SIZE = 4
#: What a budget run adds to a command of each tool.
BUDGETS = {
    'tools/analysis_tools/benchmark_train.py': [
        '--steps', '1', '--warmup', '0', '--batch-size', str(BATCH_SIZE)],
    'tools/analysis_tools/benchmark_convs.py': ['--repeats', '1'],
    'tools/demo.sh': ['--quick'],
}


def documented_commands(document: str):
    """The commands of a document's shell blocks, with their reasons.

    Args:
        document (str): Path relative to the repository.

    Returns:
        list[tuple]: ``(command, reason)``: the command as one line
        (continuations joined, ``for`` loops whole), and the matched
        reason pattern of the comment above it, or None.
    """
    with open(osp.join(REPO_ROOT, document)) as file:
        text = file.read()
    commands = []
    for block in re.findall(r'```(?:bash|shell|sh)\n(.*?)```', text, re.S):
        block = re.sub(r'\\\n\s*', ' ', block)
        reason, lines = None, iter(block.splitlines())
        for line in lines:
            line = line.strip()
            if not line:
                continue
            if line.startswith('#'):
                reason = next(
                    (pattern for pattern in REASONS
                     if re.search(pattern, line)), reason)
                continue
            if line.startswith('for '):
                loop, depth = [line], 1
                while depth:
                    loop.append(next(lines).strip())
                    depth += loop[-1].startswith('for ') - (
                        loop[-1] == 'done')
                line = '\n'.join(loop)
            commands.append((line, reason))
            reason = None
    return commands


ALL_COMMANDS = [(document, command, reason) for document in DOCUMENTS
                for command, reason in documented_commands(document)]


def test_commands_are_found():
    """The parser sees the documents' commands, and every reason is known."""
    assert len(ALL_COMMANDS) > 30
    assert all(reason is None or reason in REASONS
               for _, _, reason in ALL_COMMANDS)


def test_no_placeholders():
    """Commands are concrete: no CONFIG / CHECKPOINT / [optional] words."""
    placeholders = [
        command for _, command, _ in ALL_COMMANDS
        if re.search(r'\bCONFIG\b|\bCHECKPOINT\b|\[--', command)
    ]
    assert placeholders == []


def named_paths(command: str):
    """The repository files (configs/, tools/) a command names."""
    return [
        word.rstrip(';') for word in shlex.split(command, comments=True)
        if word.startswith(('configs/', 'tools/'))
    ]


def write_downloaded_files(folder: str) -> None:
    """The published files the docs start from, at their published names.

    Random weights in each project's layout: MoCo-v2's and SwAV's
    ResNet-50 releases, the official DisCo checkpoint, DINO's ViT-S/16
    training checkpoint (with its pickled arguments), DINOv3's ViT-S/16
    backbone, a torchvision
    ResNet-50 and a timm EfficientNet-B3 state dict, and a file that
    pickles an object (``trusted_but_pickled.pth``).
    """
    import timm
    import torchvision

    moco = encoder_tensors('module.encoder_q.', 50, 64,
                           ('fc.', 'mlp', 2048, 128))
    torch.save(moco_file(moco), osp.join(folder,
                                         'moco_v2_200ep_pretrain.pth.tar'))
    swav = encoder_tensors('module.', 50, 128,
                           ('projection_head.', 'bn_mlp', 8192, 128))
    swav['module.prototypes.weight'] = torch.randn(3000, 128)
    torch.save(swav, osp.join(folder, 'swav_RN50w2_400ep_pretrain.pth.tar'))
    official = dict(
        encoder_tensors('module.encoder_q.', 18, 64,
                        ('fc.', 'mlp', 2048, 128)),
        **encoder_tensors('module.encoder_k.', 18, 64,
                          ('fc.', 'mlp', 2048, 128)),
        **encoder_tensors('module.teacher_encoder_q.', 50, 64,
                          ('fc.', 'mlp', 2048, 128)))
    official['module.queue'] = torch.randn(128, 64)
    official['module.queue_ptr'] = torch.zeros(1, dtype=torch.long)
    torch.save(
        moco_file(official),
        osp.join(folder, 'ResNet50-ResNet18-checkpoint_0199.pth.tar'))
    torch.save(
        dino_full_checkpoint(
            random_weights(vit_layout(**VIT_S, patch=16, grid=14)),
            random_weights(dino_head_layout(VIT_S['dim'])),
            with_args=True),
        osp.join(folder, 'dino_deitsmall16_pretrain_full_checkpoint.pth'))
    torch.save(
        dinov3_vit_weights(**DINOV3_VIT_S),
        osp.join(folder, 'dinov3_vits16_pretrain_lvd1689m-08c60483.pth'))
    torch.save(torchvision.models.resnet50().state_dict(),
               osp.join(folder, 'resnet50.pth'))
    torch.save(
        timm.create_model('efficientnet_b3').state_dict(),
        osp.join(folder, 'efficientnet_b3.pth'))
    torch.save(dict(model=torch.nn.Linear(2, 2)),
               osp.join(folder, 'trusted_but_pickled.pth'))


@pytest.fixture(scope='module')
def user_folder(module_tmp_path_factory):
    """A user's folder: the repository's tools and configs, data, files."""
    folder = module_tmp_path_factory.mktemp('user')
    for name in ('configs', 'tools', 'requirements', 'setup.py',
                 'README.md'):
        os.symlink(osp.join(REPO_ROOT, name), folder / name)
    imagenet = make_imagenet_tree(str(folder / 'data' / 'imagenet'))
    for percent, subset in imagenet['subsets'].items():
        os.replace(subset, folder / f'{percent}percent.txt')
    cifar = {
        num_classes: make_cifar_tree(
            str(folder / 'data' / f'cifar{num_classes}'), num_classes)
        for num_classes in (10, 100)
    }
    checksums = module_tmp_path_factory.mktemp('cifar_checksums')
    cifar_checksum_module(str(checksums), cifar)
    make_image_folder(str(folder / 'data' / 'images'))
    write_downloaded_files(str(folder))
    os.makedirs(folder / 'checkpoints')
    environment = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([REPO_ROOT, str(checksums)]),
        PATH=os.pathsep.join(
            [osp.dirname(sys.executable), os.environ['PATH']]),
        DISCO_VENV=sys.prefix)
    return str(folder), environment


def train_budget(command: str, folder: str) -> list:
    """One epoch of small batches for a ``tools/train.py`` command."""
    config = next(word for word in shlex.split(command)
                  if word.endswith('.py') and word.startswith('configs/'))
    cfg = Config.fromfile(osp.join(folder, config))
    options = ['train_cfg.max_epochs=1']
    if cfg.train_dataloader.dataset.type == 'Digits':  # an epoch is short
        return ['--cfg-options', *options]
    options.append(f'train_dataloader.batch_size={BATCH_SIZE}')
    if cfg.get('val_dataloader'):
        options.append(f'val_dataloader.batch_size={BATCH_SIZE}')
    options += queue_options(cfg.model, 2 * BATCH_SIZE)
    return ['--cfg-options', *options]


def link_full_schedule_checkpoints(folder: str) -> None:
    """Links budget runs' ``epoch_1.pth`` as their full schedule's last one.

    Every work dir below ``work_dirs/`` that holds an ``epoch_1.pth`` and
    the dump of a shipped config (``<config name>.py``, as the Runner writes
    it) gets ``epoch_<max_epochs of that config>.pth``, so that the
    commands after it find the file the full run writes.
    """
    configs = {
        osp.basename(path): path
        for path in glob.glob(
            osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    }
    for first in glob.glob(
            osp.join(folder, 'work_dirs', '**', 'epoch_1.pth'),
            recursive=True):
        work_dir = osp.dirname(first)
        dumped = [name for name in os.listdir(work_dir) if name in configs]
        for name in dumped:
            epochs = Config.fromfile(configs[name]).train_cfg.max_epochs
            last = osp.join(work_dir, f'epoch_{epochs}.pth')
            if not osp.exists(last):
                os.symlink('epoch_1.pth', last)


def run(command: str, folder: str, environment: dict) -> str:
    """Runs a shell command in ``folder``; returns its output."""
    result = subprocess.run(['bash', '-c', command],
                            cwd=folder,
                            env=environment,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT,
                            text=True,
                            timeout=1200)
    assert result.returncode == 0, (command, result.stdout[-6000:])
    return result.stdout


def test_every_documented_command_runs(user_folder):
    folder, environment = user_folder
    for document, command, reason in ALL_COMMANDS:
        for path in named_paths(command):
            assert osp.exists(osp.join(REPO_ROOT, path)), (document, path)
        if reason is not None and not REASONS[reason]:
            continue
        words = shlex.split(command, comments=True)
        tool = next((word for word in words if word.startswith('tools/')),
                    None)
        budget = []
        if reason is not None:
            budget = (train_budget(command, folder)
                      if tool == 'tools/train.py' else BUDGETS[tool])
        run(' '.join([command.split(' #')[0], *budget]), folder,
            environment)
        if reason is not None:
            link_full_schedule_checkpoints(folder)
