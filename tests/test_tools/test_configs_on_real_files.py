"""Every shipped config trains through ``tools/train.py`` on real files.

Each config under ``configs/`` (but the detection ones, which need mmdet
with a full mmcv) runs as shipped - its own dataset class, pipeline,
sampler, collate function, data loader workers and hooks - on image files
written at test time (:mod:`real_files`). Only these are overridden: the
data root (and BINGO's bag file), the batch size, the number of epochs
(one), the queue length and the checkpoint files (teacher; the student of an
evaluation config, which is the checkpoint its pretraining config wrote in
this module). Every run must write a checkpoint; evaluation configs are
then also run through ``tools/test.py``.

The tools run with one thread each (see conftest), so the module starts
the trainings of every collected config when it begins, ``PARALLEL_RUNS``
at a time (:mod:`config_runs`), and each test waits for its own.
"""
import glob
import json
import os
import os.path as osp
import re
import sys

import pytest
import torch
from mmengine.config import Config

from disco_mm.precision import supported_dtype
from config_runs import (ConfigRuns, first_iteration_losses, teacher_files,
                         teacher_layout)
from repo_paths import MMPRETRAIN_TOOLS, REPO_ROOT
from real_files import (cifar_checksum_module, make_cifar_tree,
                        make_image_folder, make_imagenet_tree)

pytestmark = pytest.mark.slow

#: Configs that need mmdet with a full mmcv; their parse and convert tests
#: are in test_configs_benchmarks.py and test_to_mmdet.py.
DETECTION_FOLDER = osp.join('configs', 'benchmarks', 'detection')
#: The ResNet-18 DisCo config, which more tests than its own read.
DISCO_CONFIG = ('configs/disco/'
                'disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')


def shipped_configs():
    """Every config file a user can run, relative to the repository."""
    paths = glob.glob(
        osp.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
    configs = sorted(
        osp.relpath(path, REPO_ROOT) for path in paths
        if f'{os.sep}_base_{os.sep}' not in path)
    return configs


def is_evaluation(config: str) -> bool:
    """Evaluation configs train a probe on a student pretrained here."""
    return config.startswith(osp.join('configs', 'benchmarks'))


RUN_CONFIGS = [
    config for config in shipped_configs()
    if not config.startswith(DETECTION_FOLDER)
]
# Pretraining first, so that an evaluation config finds its student.
RUN_CONFIGS.sort(key=lambda config: (is_evaluation(config), config))


def test_no_config_is_left_out():
    """Every config is run here, or is a detection config."""
    left_out = set(shipped_configs()) - set(RUN_CONFIGS)
    assert all(config.startswith(DETECTION_FOLDER) for config in left_out)
    assert len(RUN_CONFIGS) + len(left_out) == len(shipped_configs())
    assert len(RUN_CONFIGS) > 60


@pytest.fixture(scope='module')
def real_data(module_tmp_path_factory, run_tool):
    """The real-file data sets and the module that accepts CIFAR files."""
    root = module_tmp_path_factory.mktemp('real_data')
    cifar = {
        num_classes: make_cifar_tree(str(root / f'cifar{num_classes}'),
                                     num_classes)
        for num_classes in (10, 100)
    }
    cifar_checksums = root / 'cifar_checksums'
    cifar_checksums.mkdir()
    cifar_checksum_module(str(cifar_checksums), cifar)
    imagenet = make_imagenet_tree(str(root / 'imagenet'))
    for percent, subset in imagenet['subsets'].items():
        run_tool([
            sys.executable, 'tools/dataset_converters/semi_supervised_subset.py',
            subset,
            osp.join(imagenet['root'], 'meta', f'train_{percent}percent.txt'),
            '--train-dir', osp.join(imagenet['root'], 'train')
        ])
    return dict(
        imagenet=imagenet,
        cifar=cifar,
        folder=str(root / 'images'),
        folder_images=make_image_folder(str(root / 'images')),
        cifar_checksums=str(cifar_checksums),
        root=root)


@pytest.fixture(scope='module')
def teacher_file(real_data):
    """Returns a function giving a random teacher file for a config."""
    return teacher_files(real_data['root'])


@pytest.fixture(scope='module')
def config_runs(request, real_data, teacher_file, module_tmp_path_factory,
                run_tool):
    """One :class:`ConfigRuns` for the module, every collected config's
    training started (an evaluation config's pretraining config first)."""
    runs = ConfigRuns(real_data, teacher_file, module_tmp_path_factory,
                      run_tool)
    collected = [
        item.callspec.params['config'] for item in request.session.items
        if item.module is request.module and
        item.originalname == 'test_config_trains_on_real_files'
    ]
    runs.kept.add(DISCO_CONFIG)
    for config in collected:
        if is_evaluation(config):
            pretraining = ConfigRuns.pretraining_config(
                Config.fromfile(osp.join(REPO_ROOT, config)))
            runs.kept.add(pretraining)
            runs.start(pretraining)
        runs.start(config)
    yield runs
    runs.pool.shutdown(cancel_futures=True)


@pytest.mark.machine_precision
@pytest.mark.parametrize('config', RUN_CONFIGS)
def test_config_trains_on_real_files(config, config_runs):
    checkpoint = config_runs.train(config)
    cfg = Config.fromfile(osp.join(REPO_ROOT, config))
    if cfg.model.get('teacher'):
        # bf16 by default where this machine computes it natively
        dtype = supported_dtype(cfg.model.teacher.get('precision', 'auto'),
                                'model.teacher.precision')
        log = config_runs.logs[config, 'tools/train.py', ()]
        assert f'The teacher computes in {dtype}' in log
        # the optimizer is built without a warning per frozen tensor
        assert 'is skipped since its requires_grad=False' not in log
        # the teacher file's layout is read as its format: recognised
        # from its keys, or as the config names it
        layout = teacher_layout(cfg.model.teacher.to_dict())
        how = ('as named' if cfg.model.teacher.get('format', 'auto') != 'auto'
               else 'detected from its keys')
        assert f"format '{layout}' ({how}" in log
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    assert state['meta']['epoch'] == 1 and state['meta']['iter'] >= 1
    tensors = state['state_dict'].values()
    assert all(torch.isfinite(tensor).all() for tensor in tensors
               if tensor.is_floating_point())
    if is_evaluation(config):
        log = config_runs.test(config, checkpoint)
        assert re.search(r'accuracy/top1: \d', log), log[-3000:]
    config_runs.release(config)


#: mmpretrain's own training script, as ``mim train mmpretrain`` runs it.
MMPRETRAIN_TRAIN = osp.join(MMPRETRAIN_TOOLS, 'train.py')


@pytest.mark.parametrize('config', [
    DISCO_CONFIG,
    'configs/benchmarks/linear/resnet18_8xb32-linear-steplr-100e_in1k.py',
])
def test_mmpretrain_train_tool_gives_the_same_losses(config, config_runs):
    """mmpretrain's tools/train.py runs the config to the same first losses.

    Both runs are seeded (``randomness.seed=0``) so that their data order,
    augmentations and initial weights can be compared.
    """
    seeded = ('randomness.seed=0', )
    tools = ('tools/train.py', MMPRETRAIN_TRAIN)
    for tool in tools:
        config_runs.start(config, tool, seeded)
    losses = []
    for tool in tools:
        config_runs.train(config, tool, seeded)
        losses.append(
            first_iteration_losses(config_runs.logs[config, tool, seeded]))
    assert 'loss' in losses[0]
    assert losses[0] == losses[1]
    for tool in tools:
        config_runs.release(config, tool, seeded)



def test_knn_eval_on_imagenet_files(config_runs, real_data, tmp_path,
                                    run_tool):
    """The documented ImageNet kNN command, on the DisCo student's checkpoint.

    The data config is mmpretrain's ImageNet base, which sets no
    ``collate_fn``.
    """
    config = DISCO_CONFIG
    root = real_data['imagenet']['root']
    out = str(tmp_path / 'knn.json')
    log = run_tool([
        sys.executable, 'tools/analysis_tools/knn_eval.py', config,
        config_runs.train(config), '--data-config',
        'mmpretrain::_base_/datasets/imagenet_bs32.py', '--k', '1', '3',
        '--out', out, '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}'
    ])
    with open(out) as file:
        record = json.load(file)
    assert record['bank_images'] == len(real_data['imagenet']['train'])
    assert record['query_images'] == len(real_data['imagenet']['val'])
    assert [result['k'] for result in record['results']] == [1, 3]
    assert 'kNN k=3' in log
