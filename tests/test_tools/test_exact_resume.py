"""Runs killed with SIGKILL and resumed end exactly as uninterrupted ones.

24 digits in batches of 8 make 3 iterations per epoch, 9 in all, with a
checkpoint every 2 iterations: most checkpoints are mid-epoch. One run goes
through; another is killed three times (after iteration 3, while saving
iteration 6's checkpoint, after iteration 8 just before its checkpoint) and
resumed with ``--resume`` each time. A third stops at a NaN loss. Two
more keep the shipped data loader workers (one, persistent): one goes
through, one is killed in the middle of epoch 2 and resumed. A run that
keeps one checkpoint is killed while saving the next; a run receives
SIGTERM as a preempted job does. Every resumed run ends at the
uninterrupted state, bit for bit.
"""
import itertools
import os
import os.path as osp
import re
import sys

import pytest
import torch
from training_state import assert_same_training_state, load

TOOLS_TESTS = osp.dirname(osp.abspath(__file__))
RUN_OPTIONS = ('train_dataloader.dataset.indices=24', 'train_cfg.max_epochs=3',
               'default_hooks.checkpoint.by_epoch=False',
               'default_hooks.checkpoint.interval=2')
KILLED = -9
WORKER_OPTIONS = ('train_dataloader.num_workers=',
                  'train_dataloader.persistent_workers=')
PREEMPTED = 143
REQUEUED = 138


@pytest.fixture(scope='module')
def train(config_with_hooks, digits_teacher, small_run_options, run_tool):
    """Returns a function that trains the 9-iteration run in a work dir.

    Its arguments: the work dir, the fault-injection hooks
    (tests/test_tools/fault_injection.py), the expected exit status,
    whether to pass ``--resume``, whether to keep the config's data loader
    workers, and more ``--cfg-options``. It returns the run's output.
    """
    runs = itertools.count()

    def run(work_dir, hooks=(), returncode=0, resume=False, workers=False,
            options=()):
        config = config_with_hooks(f'run_{next(runs)}', hooks)
        run_options = [
            option for option in small_run_options
            if not (workers and option.startswith(WORKER_OPTIONS))
        ]
        command = [
            sys.executable, 'tools/train.py', config, '--work-dir',
            str(work_dir), *(['--resume'] if resume else []),
            '--cfg-options', f'model.teacher.checkpoint={digits_teacher[0]}',
            *run_options, *RUN_OPTIONS, *options
        ]
        return run_tool(
            command, returncode=returncode, PYTHONPATH=TOOLS_TESTS)

    return run


def last_checkpoint(work_dir):
    """The file name ``work_dir/last_checkpoint`` points to."""
    with open(osp.join(work_dir, 'last_checkpoint')) as file:
        return osp.basename(file.read().strip())


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory, train):
    """The run without faults: its last checkpoint."""
    work_dir = tmp_path_factory.mktemp('uninterrupted')
    train(work_dir)
    return load(work_dir / 'iter_9.pth')


@pytest.fixture(scope='module')
def killed_three_times(tmp_path_factory, train):
    """The run killed three times and resumed: what each kill left."""
    work_dir = tmp_path_factory.mktemp('killed')
    left = {}
    train(work_dir, [dict(type='KillAtIteration', iteration=3)], KILLED)
    left['after iteration 3'] = last_checkpoint(work_dir)
    train(
        work_dir,
        [dict(type='KillAtIteration', iteration=6, during_save=True)],
        KILLED,
        resume=True)
    left['while saving 6'] = last_checkpoint(work_dir)
    left['iter_6.pth exists'] = osp.exists(work_dir / 'iter_6.pth')
    train(
        work_dir, [dict(type='KillAtIteration', iteration=8)],
        KILLED,
        resume=True)
    left['after iteration 8'] = last_checkpoint(work_dir)
    log = train(work_dir, resume=True)
    return dict(left=left, log=log, final=load(work_dir / 'iter_9.pth'))


def test_each_kill_leaves_the_last_complete_checkpoint(killed_three_times):
    assert killed_three_times['left'] == {
        'after iteration 3': 'iter_2.pth',
        'while saving 6': 'iter_4.pth',
        'iter_6.pth exists': False,
        'after iteration 8': 'iter_6.pth',
    }
    # iter_6.pth was saved after the last batch of epoch 2 (index 1), before
    # its end-of-epoch hooks: the last resume runs them, then epoch 3
    assert 'resumed epoch: 1, iter: 6' in killed_three_times['log']


def test_resumed_run_ends_with_uninterrupted_state(killed_three_times,
                                                   uninterrupted):
    final = killed_three_times['final']
    assert uninterrupted['meta']['iter'] == 9
    assert {'queue.embeddings', 'queue.pointer',
            'key_encoder.backbone.conv1.weight'} <= set(final['state_dict'])
    assert_same_training_state(final, uninterrupted)

def test_nan_loss_stops_before_it_is_saved(tmp_path, train):
    log = train(
        tmp_path,
        [dict(type='NonFiniteDistillLoss', iteration=5)],
        returncode=1)
    assert 'NonFiniteLossError: Iteration 5: non-finite loss ' \
        '(loss_distill=nan)' in log
    assert last_checkpoint(tmp_path) == 'iter_4.pth'
    assert not osp.exists(tmp_path / 'iter_5.pth')
    state = load(tmp_path / 'iter_4.pth')['state_dict']
    assert all(value.isfinite().all() for value in state.values()
               if value.is_floating_point())


@pytest.fixture(scope='module')
def shipped_workers(tmp_path_factory, train):
    """Runs with the config's persistent worker: uninterrupted, resumed."""
    ends = {}
    work_dir = tmp_path_factory.mktemp('workers_uninterrupted')
    log = train(work_dir, workers=True)
    ends['uninterrupted'] = load(work_dir / 'iter_9.pth')
    work_dir = tmp_path_factory.mktemp('workers_killed')
    train(
        work_dir, [dict(type='KillAtIteration', iteration=5)],
        KILLED,
        workers=True)
    train(work_dir, resume=True, workers=True)
    ends['resumed'] = load(work_dir / 'iter_9.pth')
    return dict(log=log, **ends)


@pytest.mark.slow
def test_persistent_workers_resume_bit_identically(shipped_workers):
    # the digits config as shipped: one worker process, kept across epochs
    assert 'num_workers=1,\n    persistent_workers=True,' in \
        shipped_workers['log']
    state = shipped_workers['resumed']['state_dict']
    reference = shipped_workers['uninterrupted']['state_dict']
    assert state.keys() == reference.keys()
    differ = [key for key, value in reference.items()
              if not torch.equal(state[key], value)]
    assert differ == []


def checkpoint_files(work_dir):
    """The training checkpoints and their checksum files in ``work_dir``
    (not the student exported at the end)."""
    return sorted(path.name for path in work_dir.iterdir()
                  if re.match(r'(iter|epoch)_\d+\.pth', path.name))


@pytest.mark.slow
def test_kill_while_saving_keeps_the_only_kept_checkpoint(
        tmp_path, train, uninterrupted):
    keep_one = ['default_hooks.checkpoint.max_keep_ckpts=1']
    train(
        tmp_path,
        [dict(type='KillAtIteration', iteration=4, during_save=True)],
        KILLED,
        options=keep_one)
    # mmengine removes iter_2.pth before writing iter_4.pth: nothing left
    assert checkpoint_files(tmp_path) == ['iter_2.pth', 'iter_2.pth.sha256']
    log = train(tmp_path, resume=True, options=keep_one)
    assert 'resumed epoch: 0, iter: 2' in log
    assert checkpoint_files(tmp_path) == ['iter_9.pth', 'iter_9.pth.sha256']
    assert_same_training_state(load(tmp_path / 'iter_9.pth'), uninterrupted)


@pytest.mark.slow
def test_sigterm_saves_the_iteration_and_resumes_exactly(
        tmp_path, train, uninterrupted):
    log = train(
        tmp_path, [dict(type='SigtermAtIteration', iteration=5)], PREEMPTED)
    assert 'Epoch(train) [2][2/3]' in log and '[2][3/3]' not in log
    assert ('SIGTERM received: stopped after iteration 5, saved in '
            f'{tmp_path}/iter_5.pth') in log
    assert last_checkpoint(tmp_path) == 'iter_5.pth'
    log = train(tmp_path, resume=True)
    assert 'resumed epoch: 1, iter: 5' in log
    assert_same_training_state(load(tmp_path / 'iter_9.pth'), uninterrupted)


@pytest.mark.slow
def test_sigusr1_under_slurm_saves_requeues_and_resumes_exactly(
        tmp_path, train, uninterrupted, monkeypatch):
    # a fake scontrol first on PATH records its arguments
    fake_bin = tmp_path / 'bin'
    fake_bin.mkdir()
    calls = tmp_path / 'scontrol_calls.txt'
    scontrol = fake_bin / 'scontrol'
    scontrol.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    scontrol.chmod(0o755)
    monkeypatch.setenv('PATH', f'{fake_bin}{os.pathsep}{os.environ["PATH"]}')
    monkeypatch.setenv('SLURM_JOB_ID', '4242')
    work_dir = tmp_path / 'work_dir'
    log = train(work_dir, [
        dict(type='SigtermAtIteration', iteration=5, signal_name='SIGUSR1')
    ], REQUEUED)
    assert 'Epoch(train) [2][2/3]' in log and '[2][3/3]' not in log
    assert ('SIGUSR1 received: stopped after iteration 5, saved in '
            f'{work_dir}/iter_5.pth') in log
    assert 'Requeued Slurm job 4242 (scontrol requeue 4242).' in log
    assert calls.read_text() == 'requeue 4242\n'
    # the requeued job starts again with --resume
    log = train(work_dir, resume=True)
    assert 'resumed epoch: 1, iter: 5' in log
    assert_same_training_state(load(work_dir / 'iter_9.pth'), uninterrupted)
