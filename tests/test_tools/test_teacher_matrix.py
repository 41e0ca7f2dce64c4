"""Every distillation method trains with every teacher family.

Each method's ResNet-18 ImageNet config is run through ``tools/train.py``
with each teacher base of ``configs/_base_/teachers/`` - a MoCo-v2
ResNet-50, DINOv2's ViT-S/14, DINOv3's ViT-S/16 - swapped in as
``docs/teachers.md`` tells a user to: the config's first base, the teacher
base, replaced by another, nothing else changed. The runs go through
:class:`config_runs.ConfigRuns` on real JPEG files, with a random teacher
file in its release's layout, 4 images a batch, at 112 px (the smallest
size both ViTs' patches tile: 8 x 14 and 7 x 16 px). Proteus, for ViT
students only, is swapped the same way in its ViT-Tiny config.
"""
import ast
import math
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from config_runs import (ConfigRuns, first_iteration_losses, teacher_files,
                         teacher_layout)
from real_files import make_imagenet_tree
from repo_paths import REPO_ROOT

pytestmark = pytest.mark.slow

#: Each method's ResNet-18 ImageNet config (its own teacher first) and the
#: losses it logs (Proteus: ``PROTEUS`` below).
METHODS = {
    'DisCo': ('configs/disco/'
              'disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py',
              {'loss_contrastive', 'loss_distill'}),
    'SEED':
    ('configs/seed/'
     'seed_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py', {'loss_distill'}),
    'CompRess1q': ('configs/compress/'
                   'compress-1q_resnet18_mocov2-r50_8xb32-steplr-130e_in1k.py',
                   {'loss_distill'}),
    'CompRess2q': ('configs/compress/'
                   'compress-2q_resnet18_mocov2-r50_8xb32-steplr-130e_in1k.py',
                   {'loss_distill'}),
    'SimReg':
    ('configs/simreg/'
     'simreg_resnet18_mocov2-r50_8xb32-coslr-130e_in1k.py', {'loss_distill'}),
    'BINGO': ('configs/bingo/'
              'bingo_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py',
              {'loss_bag', 'loss_mix'}),
    'GlobalLocalDistill':
    ('configs/global_local/global-local_resnet18_dinov2-vit-small-p14_'
     '8xb32-adamw-coslr-200e_in1k.py', {'loss_global', 'loss_local'}),
}

#: The teacher families, by their base in configs/_base_/teachers/.
TEACHERS = (
    'mocov2_resnet50.py',
    'dinov2_vit-small-p14.py',
    'dinov3_vit-small-p16.py',
)

#: Side of every image the student and teacher see.
IMAGE_SIZE = 112
#: The size argument of each transform that sets the input size.
SIZE_ARGUMENTS = {
    'RandomResizedCrop': 'scale',
    'ResizeEdge': 'scale',
    'CenterCrop': 'crop_size',
}

RUNS = [(method, teacher) for method in METHODS for teacher in TEACHERS]

#: The teacher bases, as a method's config names them.
TEACHER_FOLDER = '../_base_/teachers/'


def bases_assignment(source: str) -> ast.Assign:
    """The ``_base_ = ...`` statement of a config's source."""
    return next(
        node for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and node.targets[0].id == '_base_')


def swap_teacher(config: str, teacher: str, directory: str) -> str:
    """Writes ``config`` with another teacher base, as a user would.

    The first base of ``config`` must be its teacher; it becomes
    ``configs/_base_/teachers/<teacher>``. The copy is written to
    ``directory``, so its bases are made absolute.

    Args:
        config (str): The config, relative to the repository.
        teacher (str): The file name of the teacher base.
        directory (str): Where to write the copy.

    Returns:
        str: The path of the copy.
    """
    path = osp.join(REPO_ROOT, config)
    with open(path) as file:
        lines = file.read().split('\n')
    base_node = bases_assignment('\n'.join(lines))
    bases = ast.literal_eval(base_node.value)
    assert bases[0].startswith(TEACHER_FOLDER), (
        f'{config} does not name its teacher base first')
    bases[0] = TEACHER_FOLDER + teacher
    folder = osp.dirname(path)
    bases = [osp.normpath(osp.join(folder, base)) for base in bases]
    lines[base_node.lineno - 1:base_node.end_lineno] = [f'_base_ = {bases!r}']
    name = f'{osp.splitext(osp.basename(config))[0]}_{teacher}'
    swapped = osp.join(directory, name)
    with open(swapped, 'w') as file:
        file.write('\n'.join(lines))
    return swapped


def image_size_options(cfg: Config) -> tuple:
    """``--cfg-options`` setting every input size of ``cfg`` to
    ``IMAGE_SIZE``: the views, BINGO's bag view and a ViT teacher's
    position embedding (resized to it when the teacher is loaded)."""
    options = []

    def visit(node, path: str) -> None:
        if isinstance(node, dict):
            argument = SIZE_ARGUMENTS.get(node.get('type'))
            if argument:
                options.append(f'{path}.{argument}={IMAGE_SIZE}')
            for key, value in node.items():
                visit(value, f'{path}.{key}' if path else key)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                visit(value, f'{path}.{index}')

    visit(cfg.to_dict(), '')
    if 'img_size' in cfg.model.teacher.backbone:
        options.append(f'model.teacher.backbone.img_size={IMAGE_SIZE}')
    return tuple(options)


@pytest.fixture(scope='module')
def swapped_configs(module_tmp_path_factory):
    """Each method's config with each teacher base, by (method, teacher)."""
    directory = str(module_tmp_path_factory.mktemp('swapped_configs'))
    return {
        (method, teacher): swap_teacher(METHODS[method][0], teacher, directory)
        for method, teacher in RUNS
    }


@pytest.fixture(scope='module')
def matrix_runs(request, module_tmp_path_factory, run_tool,
                swapped_configs):
    """The runs of every collected (method, teacher), started at once,
    ``PARALLEL_RUNS`` at a time."""
    root = module_tmp_path_factory.mktemp('matrix_data')
    real_data = dict(imagenet=make_imagenet_tree(str(root / 'imagenet')),
                     root=root)
    runs = ConfigRuns(real_data, teacher_files(root), module_tmp_path_factory,
                      run_tool)
    collected = [(item.callspec.params['method'],
                  item.callspec.params['teacher'])
                 for item in request.session.items
                 if item.module is request.module
                 and item.originalname == 'test_method_trains_with_teacher']
    for run in collected:
        config = swapped_configs[run]
        runs.start(config,
                   extra_options=image_size_options(Config.fromfile(config)))
    yield runs
    runs.pool.shutdown(cancel_futures=True)


@pytest.mark.parametrize('method, teacher', RUNS)
def test_method_trains_with_teacher(method, teacher, swapped_configs,
                                    matrix_runs):
    config = swapped_configs[method, teacher]
    cfg = Config.fromfile(config)
    options = image_size_options(cfg)
    checkpoint = matrix_runs.train(config, extra_options=options)
    log = matrix_runs.logs[config, 'tools/train.py', options]
    # the swapped teacher, read from its release's layout
    assert f"format '{teacher_layout(cfg.model.teacher.to_dict())}'" in log
    losses = first_iteration_losses(log)
    assert METHODS[method][1] <= set(losses)
    assert all(
        math.isfinite(float(losses[name])) for name in METHODS[method][1])
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    assert state['meta']['iter'] >= 1
    assert all(
        torch.isfinite(tensor).all()
        for tensor in state['state_dict'].values()
        if tensor.is_floating_point())
    matrix_runs.release(config, extra_options=options)


def test_swapping_changes_only_the_teacher(swapped_configs):
    """The copy of a method's config with its own teacher is the config."""
    for method, (config, _) in METHODS.items():
        with open(osp.join(REPO_ROOT, config)) as file:
            first_base = ast.literal_eval(bases_assignment(
                file.read()).value)[0]
        teacher = first_base[len(TEACHER_FOLDER):]
        shipped = Config.fromfile(osp.join(REPO_ROOT, config)).to_dict()
        swapped = Config.fromfile(swapped_configs[method, teacher]).to_dict()
        assert swapped == shipped, method


def test_bingo_bags_are_named_after_the_teacher(swapped_configs):
    """A teacher swap never reads the bags another teacher built."""
    bag_files = {
        Config.fromfile(
            swapped_configs['BINGO',
                            teacher]).train_dataloader.dataset.bag_file
        for teacher in TEACHERS
    }
    assert bag_files == {
        'data/imagenet/bingo_bags_mocov2-r50_k5.npy',
        'data/imagenet/bingo_bags_dinov2-vit-small-p14_k5.npy',
        'data/imagenet/bingo_bags_dinov3-vit-small-p16_k5.npy',
    }


def test_bn_train_mode_with_a_vit_teacher_is_refused(swapped_configs,
                                                     matrix_runs, run_tool):
    """The official code's teacher BatchNorm on batch statistics (the
    ``-official`` configs) has nothing to act on in a ViT."""
    data_root = matrix_runs.real_data['imagenet']['root']
    log = run_tool([
        sys.executable, 'tools/train.py',
        swapped_configs['DisCo', 'dinov2_vit-small-p14.py'], '--cfg-options',
        f'train_dataloader.dataset.data_root={data_root}',
        'model.teacher.bn_train_mode=True'
    ],
                   returncode=1)
    assert ('this teacher (TimmPooledBackbone vit_small_patch14_dinov2) has '
            'none') in log
    assert 'Set model.teacher.bn_train_mode=False' in log


#: Proteus, for ViT students only, swapped like the methods above: its
#: config trains from DINOv2 and refuses the other two teacher families,
#: naming what to change (a ResNet has no CLS token; DINOv3's patches of 16
#: px make another grid than the student's patches of 14 px).
PROTEUS = ('configs/proteus/'
           'proteus_vit-tiny-p14_dinov2-vit-small-p14_4xb128-adamw-coslr-'
           '300e_in1k.py')
PROTEUS_REFUSALS = {
    'mocov2_resnet50.py': 'model.teacher.backbone is a ResNet',
    'dinov3_vit-small-p16.py': (
        "The student's patches are (14, 14) px and the teacher's (16, 16) "
        'px'),
}


@pytest.mark.parametrize('teacher', TEACHERS)
def test_proteus_with_each_teacher_family(teacher, module_tmp_path_factory,
                                          matrix_runs, run_tool):
    directory = str(module_tmp_path_factory.mktemp('proteus_configs'))
    config = swap_teacher(PROTEUS, teacher, directory)
    cfg = Config.fromfile(config)
    options = image_size_options(cfg) + (
        f'model.backbone.img_size={IMAGE_SIZE}', )
    if teacher in PROTEUS_REFUSALS:
        log = run_tool([
            sys.executable, 'tools/train.py', config, '--cfg-options',
            *matrix_runs.options(cfg, options), *options
        ],
                       returncode=1)
        assert PROTEUS_REFUSALS[teacher] in log
        return
    matrix_runs.train(config, extra_options=options)
    losses = first_iteration_losses(
        matrix_runs.logs[config, 'tools/train.py', options])
    names = {'loss_token', 'loss_feature', 'loss_patch'}
    assert names <= set(losses)
    assert all(math.isfinite(float(losses[name])) for name in names)
    matrix_runs.release(config, extra_options=options)
