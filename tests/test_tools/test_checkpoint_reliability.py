"""tools/train.py with damaged, moved and diverged checkpoints.

A base run trains 6 iterations (16 digits in batches of 8, 3 epochs) and
saves iter_2, iter_4 and iter_6. Copies of its work dir are damaged,
moved or given another teacher before ``--resume``. Other runs diverge
with a huge learning rate.
"""
import hashlib
import itertools
import os
import os.path as osp
import re
import shutil
import sys
import time

import pytest
import torch
from training_state import assert_same_training_state, load

from disco_mm.checkpoints import checkpoint_problem
from file_damage import empty, overwrite_4_kib, truncate

RUN_OPTIONS = ('train_cfg.max_epochs=3',
               'default_hooks.checkpoint.by_epoch=False',
               'default_hooks.checkpoint.interval=2')


@pytest.fixture(scope='module')
def train(digits_teacher, small_run_options, run_tool, config_with_hooks):
    """Returns a function that runs tools/train.py on the digits config.

    Its arguments: the work dir, more ``--cfg-options``, the expected exit
    status, further flags (``--resume``) and fault-injection hooks
    (tests/test_tools/fault_injection.py). It returns the run's output.
    """

    runs = itertools.count()

    def run(work_dir, options=(), returncode=0, flags=(), hooks=()):
        config = config_with_hooks(f'reliability_{next(runs)}', hooks)
        return run_tool(
            [
                sys.executable, 'tools/train.py', config, '--work-dir',
                str(work_dir), *flags, '--cfg-options',
                f'model.teacher.checkpoint={digits_teacher[0]}',
                *small_run_options, *RUN_OPTIONS, *options
            ],
            returncode=returncode,
            PYTHONPATH=osp.dirname(osp.abspath(__file__)))

    return run


@pytest.fixture(scope='module')
def base_run(tmp_path_factory, train):
    """The 6-iteration run: its work dir and its last checkpoint."""
    work_dir = tmp_path_factory.mktemp('base') / 'work_dir'
    train(work_dir)
    return dict(work_dir=work_dir, final=load(work_dir / 'iter_6.pth'))


@pytest.fixture
def copied_run(tmp_path, base_run):
    """A copy of the base run's work dir."""
    work_dir = tmp_path / 'copy'
    shutil.copytree(base_run['work_dir'], work_dir)
    return work_dir


@pytest.mark.slow
@pytest.mark.parametrize('damage, problem', [
    (truncate, 'unreadable, truncated or damaged'),
    (empty, 'empty (0 bytes)'),
    (overwrite_4_kib, 'was damaged or replaced after it was saved'),
])
def test_damaged_newest_checkpoint_falls_back_and_is_named(
        copied_run, train, base_run, damage, problem):
    damage(copied_run / 'iter_6.pth')
    log = train(copied_run, flags=['--resume'])
    assert re.search(
        r'Not resuming 1 damaged or unreadable checkpoint\(s\) of .*\n  ' +
        re.escape(f'{copied_run}/iter_6.pth: ') + r'.*' + re.escape(problem),
        log)
    assert f'Resuming the newest intact checkpoint, {copied_run}/iter_4.pth' \
        in log
    assert 'resumed epoch: 1, iter: 4' in log
    assert_same_training_state(
        load(copied_run / 'iter_6.pth'), base_run['final'])


@pytest.mark.slow
def test_failed_save_keeps_the_complete_file_of_that_name(copied_run, train):
    checksum = (copied_run / 'iter_6.pth.sha256').read_text()
    log = train(
        copied_run,
        returncode=1,
        flags=['--resume', str(copied_run / 'iter_4.pth')],
        hooks=[dict(type='FailSaveAtIteration', iteration=6)])
    assert 'OSError: disk full' in log
    assert (copied_run / 'iter_6.pth.sha256').read_text() == checksum
    assert checkpoint_problem(str(copied_run / 'iter_6.pth')) is None
    assert not list(copied_run.glob('*.tmp'))


@pytest.mark.slow
def test_explicit_resume_of_a_damaged_file_is_refused(copied_run, train):
    overwrite_4_kib(copied_run / 'iter_6.pth')
    log = train(
        copied_run,
        returncode=1,
        flags=['--resume', str(copied_run / 'iter_6.pth')])
    assert (f'CheckpointIntegrityError: Cannot resume {copied_run}/'
            'iter_6.pth: its SHA-256 is') in log
    assert (f'The newest intact checkpoint of {copied_run} is {copied_run}/'
            f'iter_4.pth: resume it with --resume {copied_run}/iter_4.pth'
            ) in log
    assert 'Epoch(train)' not in log


@pytest.mark.slow
def test_moved_work_dir_resumes_its_highest_iteration(copied_run, train):
    os.remove(copied_run / 'iter_6.pth')
    # an absolute pointer into a removed work dir, as mmengine writes it,
    # and iter_4 older on disk than iter_2
    (copied_run / 'last_checkpoint').write_text('/removed/work_dir/iter_2.pth')
    os.utime(copied_run / 'iter_4.pth', (time.time() - 3600, ) * 2)
    log = train(copied_run, flags=['--resume'])
    assert 'resumed epoch: 1, iter: 4' in log
    assert (copied_run / 'last_checkpoint').read_text() == 'iter_6.pth'


@pytest.fixture
def other_teacher(tmp_path, digits_teacher):
    """A teacher file of the same architecture with other weights."""
    path = tmp_path / 'teacher.pth'
    torch.save(
        {
            'state_dict': {
                key: value * 0.9 if value.is_floating_point() else value
                for key, value in digits_teacher[1].items()
            }
        }, path)
    return path


@pytest.mark.slow
def test_replaced_teacher_is_refused_unless_allowed(copied_run, train,
                                                    other_teacher,
                                                    digits_teacher):
    os.remove(copied_run / 'iter_6.pth')
    resume_with_other_teacher = [f'model.teacher.checkpoint={other_teacher}']
    log = train(
        copied_run,
        resume_with_other_teacher,
        returncode=1,
        flags=['--resume'])
    with open(digits_teacher[0], 'rb') as file:
        trained_with = hashlib.sha256(file.read()).hexdigest()
    assert ('TeacherChangedError: The teacher differs from the one '
            f'{copied_run}/iter_4.pth was trained with:\n  teacher: '
            'checkpoint_sha256 is ') in log
    assert f'the checkpoint was trained with {trained_with}' in log
    assert '--cfg-options allow_teacher_change=True' in log
    assert 'Epoch(train)' not in log
    log = train(
        copied_run,
        [*resume_with_other_teacher, 'allow_teacher_change=True'],
        flags=['--resume'])
    assert 'Resuming anyway (allow_teacher_change=True)' in log
    assert 'Epoch(train) [3][2/2]' in log


def assert_finite(path):
    """Asserts that a checkpoint, or a student exported beside it, holds no
    NaN or infinite tensor."""
    checkpoint = load(path)
    optimizer_state = checkpoint.get('optimizer', {}).get('state', {})
    tensors = list(checkpoint.get('state_dict', checkpoint).values()) + [
        value for state in optimizer_state.values()
        for value in state.values() if torch.is_tensor(value)
    ]
    assert all(value.isfinite().all() for value in tensors
               if value.is_floating_point()), path


def diverge(tmp_path_factory, base_run, train, lr):
    """Resumes the base run's iter_2.pth at a huge ``lr`` until it stops.

    Returns:
        dict: The work dir and the run's output.
    """
    work_dir = tmp_path_factory.mktemp(f'lr_{lr}') / 'work_dir'
    shutil.copytree(base_run['work_dir'], work_dir)
    for name in ('iter_4.pth', 'iter_6.pth'):
        os.remove(work_dir / name)
    log = train(
        work_dir, [f'optim_wrapper.optimizer.lr={lr}'],
        returncode=1,
        flags=['--resume'])
    return dict(work_dir=work_dir, log=log)


@pytest.fixture(scope='module')
def lr_1e6_run(tmp_path_factory, base_run, train):
    """The base run resumed from iter_2 at lr 1e6."""
    return diverge(tmp_path_factory, base_run, train, '1e6')


@pytest.fixture(scope='module')
def lr_1e38_run(tmp_path_factory, base_run, train):
    """The base run resumed from iter_2 at lr 1e38."""
    return diverge(tmp_path_factory, base_run, train, '1e38')


@pytest.mark.slow
@pytest.mark.parametrize('lr', ['1e6', '1e38'])
def test_huge_lr_names_a_finite_checkpoint(request, lr):
    run = request.getfixturevalue(f'lr_{lr}_run')
    work_dir, log = run['work_dir'], run['log']
    assert ('Learning rate of parameter group 0 from the config, not the '
            f'checkpoint: base {float(lr):.4e} (checkpoint 6.0000e-02)') in log
    assert re.search(r'(NonFiniteLossError|NonFiniteStateError): Iteration',
                     log)
    named = re.search(r'The last good checkpoint is (\S+):', log).group(1)
    assert osp.isfile(named)
    for path in work_dir.glob('*.pth'):
        assert_finite(path)


@pytest.mark.slow
def test_lr_1e38_never_saves_overflowed_weights(tmp_path, train):
    # the loss of iteration 1 is computed before its step: finite; the step
    # of iteration 1 overflows the weights
    log = train(
        tmp_path,
        ['optim_wrapper.optimizer.lr=1e38',
         'default_hooks.checkpoint.interval=1'],
        returncode=1)
    assert re.search(
        r'NonFiniteStateError: Iteration 1: \d+ tensors of the model or '
        r'optimizer are NaN or infinite, so iter_1.pth was not saved:', log)
    assert 'was not saved:\n  backbone.conv1.weight\n' in log
    assert 'No checkpoint was saved before: start again' in log
    assert not list(tmp_path.glob('*.pth'))


@pytest.mark.slow
def test_resume_with_lower_lr_as_advised_takes_effect(lr_1e38_run, train):
    # the step of iteration 3 overflows: iter_4.pth is never written
    named = re.search(r'--resume (\S+) --cfg-options optim_wrapper',
                      lr_1e38_run['log']).group(1)
    assert named == f'{lr_1e38_run["work_dir"]}/iter_2.pth'
    log = train(
        lr_1e38_run['work_dir'], ['optim_wrapper.optimizer.lr=0.006'],
        flags=['--resume', named])
    assert ('Learning rate of parameter group 0 from the config, not the '
            'checkpoint: base 6.0000e-03 (checkpoint 6.0000e-02)') in log
    # cosine over 3 epochs: epoch 2 at (1 + cos(pi / 3)) / 2 = 0.75 of the
    # base, epoch 3 at (1 + cos(2 pi / 3)) / 2 = 0.25
    assert 'Epoch(train) [2][1/2]  lr: 4.5000e-03' in log
    assert 'Epoch(train) [3][2/2]  lr: 1.5000e-03' in log
    assert 'loss: nan' not in log
    final = load(lr_1e38_run['work_dir'] / 'iter_6.pth')
    assert final['optimizer']['param_groups'][0]['initial_lr'] == 0.006
