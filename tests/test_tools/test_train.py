"""tools/train.py: a 2-iteration digits DisCo run, --resume, its flags."""
import ast
import glob
import importlib.util
import json
import os.path as osp
import re
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from PIL import Image

from disco_mm.apis import load_config
from disco_mm.evaluation.pictures import GRID_GAP
from repo_paths import MMPRETRAIN_TOOLS

TOOLS_TESTS = osp.dirname(osp.abspath(__file__))


def logged_iterations(work_dir):
    """The ``iter`` of every logged training step of the run in work_dir.

    Args:
        work_dir (str): The run's work dir (one run per work dir).

    Returns:
        list[int]: Iterations in the order logged.
    """
    scalars, = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(scalars) as file:
        return [json.loads(line)['iter'] for line in file if line.strip()]


def test_run_logs_both_losses_and_saves(digits_run):
    log = digits_run['log']
    assert 'Epoch(train) [1][2/2]' in log
    assert 'loss_contrastive:' in log and 'loss_distill:' in log
    assert logged_iterations(digits_run['work_dir']) == [1, 2]
    checkpoint = torch.load(digits_run['checkpoint'], map_location='cpu')
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['iter'] == 2
    state = checkpoint['state_dict']
    # The teacher is reloaded from its own file, never saved.
    assert not [key for key in state if key.startswith('teacher.')]
    assert {'backbone.conv1.weight', 'neck.mlp.2.weight',
            'key_encoder.backbone.conv1.weight', 'queue.embeddings'
            } <= set(state)
    # 2 steps of 8 keys entered the queue of 24
    assert state['queue.pointer'].tolist() == [16]


@pytest.fixture(scope='module')
def resumed_run(tmp_path_factory, digits_run, digits_teacher,
                digits_disco_config, small_run_options, run_tool):
    """Resumes the 2-iteration run from its epoch_1.pth for another epoch.

    The run uses the digits config plus a hook that records the model when
    training starts (tests/test_tools/resume_probe.py).

    Returns:
        dict: ``work_dir``, ``log`` and the ``probe`` record.
    """
    root = tmp_path_factory.mktemp('resumed')
    probe_path = str(root / 'probe.pth')
    config = root / 'with_probe.py'
    config.write_text(
        f'_base_ = {digits_disco_config!r}\n'
        "custom_imports = dict(imports=['disco_mm', 'resume_probe'], "
        'allow_failed_imports=False)\n'
        f"custom_hooks = [dict(type='ModelStateProbe', path={probe_path!r})]\n"
    )
    work_dir = str(root / 'work_dir')
    command = [
        sys.executable, 'tools/train.py',
        str(config), '--work-dir', work_dir, '--resume',
        digits_run['checkpoint'], '--cfg-options',
        f'model.teacher.checkpoint={digits_teacher[0]}',
        'train_cfg.max_epochs=2', *small_run_options
    ]
    log = run_tool(command, PYTHONPATH=TOOLS_TESTS)
    return dict(
        work_dir=work_dir,
        log=log,
        probe=torch.load(probe_path, map_location='cpu'))


def test_resume_continues_counting(resumed_run):
    log = resumed_run['log']
    assert 'resumed epoch: 1, iter: 2' in log
    assert 'Epoch(train) [2][2/2]' in log
    assert 'Epoch(train) [1]' not in log
    assert logged_iterations(resumed_run['work_dir']) == [3, 4]
    checkpoint = torch.load(
        osp.join(resumed_run['work_dir'], 'epoch_2.pth'), map_location='cpu')
    assert checkpoint['meta']['iter'] == 4
    assert checkpoint['state_dict']['queue.pointer'].tolist() == [8]


def test_resumed_model_starts_from_checkpoint(resumed_run, digits_run):
    probe = resumed_run['probe']
    assert (probe['epoch'], probe['iter']) == (1, 2)
    saved = torch.load(
        digits_run['checkpoint'], map_location='cpu')['state_dict']
    assert probe['model'].keys() == saved.keys()
    for key, value in saved.items():
        assert torch.equal(probe['model'][key], value), key


def test_resumed_teacher_is_its_checkpoint(resumed_run, digits_teacher,
                                           digits_disco_config):
    teacher = resumed_run['probe']['teacher']
    teacher_cfg = Config.fromfile(digits_disco_config).model.teacher
    # the config's teacher as its file gives it (BatchNorm folded)
    expected = MODELS.build(
        dict(teacher_cfg, checkpoint=digits_teacher[0])).weights()
    assert teacher.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(teacher[key], value), key
    unfolded = MODELS.build(
        dict(
            teacher_cfg, checkpoint=digits_teacher[0],
            fold_batch_norm=False)).weights()
    for key, value in digits_teacher[1].items():
        assert torch.equal(unfolded[key], value), key


def test_resume_reports_no_missing_keys(resumed_run):
    assert 'missing keys' not in resumed_run['log']
    assert 'unexpected key' not in resumed_run['log']


@pytest.fixture(scope='module')
def train_tool(repo_root):
    """tools/train.py imported as a module."""
    spec = importlib.util.spec_from_file_location(
        'train_tool', osp.join(repo_root, 'tools', 'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def train_flags(train_tool, repo_root, monkeypatch):
    """Returns a function: the config of tools/train.py for some flags.

    Args of the function: a config path relative to configs/ and the
    flags after it.
    """

    def config_for(config, *flags):
        path = osp.join(repo_root, 'configs', config)
        monkeypatch.setattr(sys, 'argv', ['train.py', path, *flags])
        monkeypatch.setenv('LOCAL_RANK', '0')
        args = train_tool.parse_args()
        return train_tool.apply_train_flags(
            load_config(args, train_tool.DATALOADERS), args)

    return config_for


DIGITS = 'disco/disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py'
IN1K = 'disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py'


@pytest.mark.parametrize(
    'flags, resume, load_from',
    [((), False, None), (('--resume', ), True, None),
     (('--resume', 'a/epoch_3.pth'), True, 'a/epoch_3.pth')])
def test_resume_flag(train_flags, flags, resume, load_from):
    cfg = train_flags(DIGITS, *flags)
    assert cfg.resume is resume and cfg.load_from == load_from


def test_auto_scale_lr_needs_base_batch(train_flags):
    assert train_flags(IN1K, '--auto-scale-lr').auto_scale_lr == dict(
        base_batch_size=256, enable=True)
    with pytest.raises(ValueError, match='auto_scale_lr.base_batch_size'):
        train_flags(DIGITS, '--auto-scale-lr')


def test_amp_and_no_persistent_workers(train_flags):
    cfg = train_flags(DIGITS, '--amp', '--no-persistent-workers')
    if torch.cuda.is_available():
        assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
        assert cfg.optim_wrapper.loss_scale == 'dynamic'
    else:
        assert cfg.optim_wrapper.type == 'CPUAutocastOptimWrapper'
        assert 'loss_scale' not in cfg.optim_wrapper
    assert cfg.train_dataloader.persistent_workers is False
    assert train_flags(DIGITS).train_dataloader.persistent_workers is True


@pytest.mark.parametrize(
    'fault, error',
    [('teacher', 'TeacherCheckpointError: Teacher checkpoint'),
     ('queue', 'ValueError: model.queue.length (20) must be a multiple')])
def test_bad_teacher_or_queue_stops_before_first_iteration(
        tmp_path, make_teacher_checkpoint, digits_teacher, digits_disco_config,
        small_run_options, run_tool, fault, error):
    teacher = digits_teacher[0]
    options = list(small_run_options)
    if fault == 'teacher':
        # a ResNet-18 of width 8, for the digits teacher of width 32
        teacher = str(tmp_path / 'other_teacher.pth')
        make_teacher_checkpoint(teacher)
    else:
        options.append('model.queue.length=20')
    log = run_tool(
        [
            sys.executable, 'tools/train.py', digits_disco_config,
            '--work-dir',
            str(tmp_path / 'work_dir'), '--cfg-options',
            f'model.teacher.checkpoint={teacher}', *options
        ],
        returncode=1)
    assert error in log
    assert 'Epoch(train)' not in log
    assert not glob.glob(str(tmp_path / 'work_dir' / '*.pth'))


def test_train_tool_accepts_every_flag_of_mmpretrains(import_tool,
                                                       monkeypatch, capsys):
    """Our tools/train.py takes every option mmpretrain's tools/train.py has."""
    with open(osp.join(MMPRETRAIN_TOOLS, 'train.py')) as file:
        tree = ast.parse(file.read())
    flags = {
        argument.value
        for call in ast.walk(tree) if isinstance(call, ast.Call)
        and getattr(call.func, 'attr', None) == 'add_argument'
        for argument in call.args
        if isinstance(argument, ast.Constant)
        and str(argument.value).startswith('--')
    }
    assert {'--no-validate', '--no-pin-memory', '--amp'} <= flags
    monkeypatch.setattr(sys, 'argv', ['train.py', '--help'])
    with pytest.raises(SystemExit):
        import_tool('train.py').parse_args()
    ours = set(re.findall(r'--[\w-]+', capsys.readouterr().out))
    assert flags - ours == set()


def test_console_shows_progress_with_data_wait(digits_run):
    lines = digits_run['log'].splitlines()
    bars = [
        re.search(r'\] (\d)/2, [\d.]+ task/s, elapsed: \d+s, ETA: +\d+s, '
                  r'data wait: (\d+)%$', line) for line in lines
    ]
    shares = [(bar[1], int(bar[2])) for bar in bars if bar]
    assert [count for count, _ in shares] == ['1', '2']
    assert all(share <= 100 for _, share in shares)
    # each iteration's log line starts on a line of its own
    assert not [line for line in lines if '/2, ' in line and 'INFO' in line]


def test_run_draws_the_first_batch_views(digits_run):
    path = osp.join(digits_run['work_dir'], 'first_batch_views.png')
    assert f'Augmented views of the first batch: {path}' in digits_run['log']
    with Image.open(path) as picture:
        pixels = np.asarray(picture)
    # 8 images of the batch of 8 in rows, the 2 views of 32 px in columns,
    # 2 white pixels apart
    assert pixels.shape == (8 * 32 + 7 * GRID_GAP, 2 * 32 + GRID_GAP, 3)
    assert pixels[:32, :32].std() > 0


def test_run_exports_the_student_with_the_line_that_loads_it(digits_run):
    path = osp.join(digits_run['work_dir'], 'student_epoch_1_mmpretrain.pth')
    (line, ) = [
        line for line in digits_run['log'].splitlines()
        if f'Student of epoch 1 exported for mmpretrain: {path}' in line
    ]
    scope = {}
    # the ResNet-18 of width 16 is no stock timm model: the student's own
    # backbone config loads it, strictly
    exec(line.split('load it with: ')[1], scope)
    trained = torch.load(digits_run['checkpoint'], map_location='cpu')
    expected = {
        key[len('backbone.'):]: value
        for key, value in trained['state_dict'].items()
        if key.startswith('backbone.')
    }
    loaded = scope['model'].state_dict()
    assert loaded.keys() == expected.keys()
    assert all(torch.equal(loaded[key], expected[key]) for key in expected)


def test_console_starts_with_the_resolved_config(digits_run, digits_teacher):
    # mmengine's Runner logs the config it was built with, once
    log = digits_run['log']
    assert log.count(' - mmengine - INFO - Config:\n') == 1
    before_training = log.split('Config:\n')[1].split('Epoch(train)')[0]
    # with the --cfg-options of the run
    for option in ("queue=dict(length=24, type='EmbeddingQueue')",
                   f"checkpoint='{digits_teacher[0]}'", 'batch_size=8,'):
        assert option in before_training
