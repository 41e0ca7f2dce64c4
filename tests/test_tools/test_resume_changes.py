"""Resuming with other batches, processes or queue, and batch-size mistakes.

A one-process run of 24 digits in batches of 8 (3 iterations per epoch, 3
epochs, a checkpoint every 2 iterations) is killed after iteration 5;
``iter_4.pth`` holds the first batch of epoch 2. Resumed with another
global batch it must refuse before training; resumed on 2 processes of 4
images it continues with the same samples per iteration.
"""
import json
import os.path as osp
import shutil
import sys

import pytest
import torch

TOOLS_TESTS = osp.dirname(osp.abspath(__file__))
RUN_OPTIONS = ('train_dataloader.dataset.indices=24', 'train_cfg.max_epochs=3',
               'model.queue.length=48',
               'default_hooks.checkpoint.by_epoch=False',
               'default_hooks.checkpoint.interval=2')
KILLED = -9


@pytest.fixture(scope='module')
def train(config_with_hooks, digits_teacher, small_run_options, run_tool,
          find_free_port):
    """Returns a function that trains in a work dir and returns the log.

    Its arguments: the work dir, the hooks of fault_injection.py, the
    exit status, the number of processes, ``--resume`` or not, and more
    ``--cfg-options`` (which override the others).
    """
    names = iter(range(1000))
    options = [
        option for option in small_run_options
        if not option.startswith(('train_dataloader.batch_size=',
                                  'model.queue.length='))
    ]

    def run(work_dir, hooks=(), returncode=0, processes=1, resume=False,
            extra=('train_dataloader.batch_size=8', )):
        config = config_with_hooks(f'changes_{next(names)}',
                                   [dict(type='RecordSampleIndices'), *hooks])
        launcher = ([sys.executable, 'tools/train.py', config]
                    if processes == 1 else
                    ['bash', 'tools/dist_train.sh', config, str(processes)])
        command = [
            *launcher, '--work-dir',
            str(work_dir), *(['--resume'] if resume else []),
            '--cfg-options', f'model.teacher.checkpoint={digits_teacher[0]}',
            *options, *RUN_OPTIONS, *extra
        ]
        return run_tool(
            command,
            returncode=returncode,
            PYTHONPATH=TOOLS_TESTS,
            PORT=str(find_free_port()))

    return run


@pytest.fixture(scope='module')
def killed_run(tmp_path_factory, train):
    """The one-process run killed after iteration 5: its work dir."""
    work_dir = tmp_path_factory.mktemp('killed_one_process')
    train(work_dir, [dict(type='KillAtIteration', iteration=5)], KILLED)
    return work_dir


@pytest.fixture
def resumable(tmp_path, killed_run):
    """A copy of the killed run's work dir to resume in."""
    work_dir = tmp_path / 'work_dir'
    shutil.copytree(killed_run, work_dir)
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
    return work_dir


def recorded(work_dir, rank=0):
    """The sample indices each iteration trained on, by iteration."""
    with open(work_dir / f'samples_rank{rank}.jsonl') as file:
        return {
            line['iter']: line['samples']
            for line in map(json.loads, file)
        }


def checkpoints(work_dir):
    """The checkpoint files of a work dir."""
    return sorted(path.name for path in work_dir.glob('*.pth'))


@pytest.mark.slow
@pytest.mark.parametrize(
    'processes, batch_size, saved, this_run',
    [(2, 8, '1 processes x train_dataloader.batch_size 8 = 8 images',
      '2 processes x train_dataloader.batch_size 8 = 16 images'),
     (1, 4, '1 processes x train_dataloader.batch_size 8 = 8 images',
      '1 processes x train_dataloader.batch_size 4 = 4 images')])
def test_resume_with_other_global_batch_is_refused(resumable, train,
                                                   processes, batch_size,
                                                   saved, this_run):
    before = checkpoints(resumable)
    log = train(
        resumable,
        returncode=1,
        processes=processes,
        resume=True,
        extra=(f'train_dataloader.batch_size={batch_size}', ))
    assert f'ValueError: Cannot resume: the checkpoint was saved with ' \
        f'{saved} per iteration, 3 iterations per epoch; this run has ' \
        f'{this_run} per iteration' in log
    assert 'start a new run from its weights with load_from' in log
    if processes == 2:
        assert 'set train_dataloader.batch_size=4 for 2 processes' in log
    assert 'Epoch(train)' not in log
    assert checkpoints(resumable) == before


@pytest.mark.slow
def test_resume_on_two_processes_with_same_global_batch(resumable, train):
    train(
        resumable,
        processes=2,
        resume=True,
        extra=('train_dataloader.batch_size=4', ))
    final = torch.load(resumable / 'iter_9.pth', map_location='cpu')
    assert final['meta']['iter'] == 9
    assert final['data_position'] == dict(
        samples=72, epoch_samples=24, batch_size=4, processes=2,
        batches_per_epoch=3)
    # rank 0's file holds the killed run's iterations 1-5, then the
    # resumed run's 5-9 (iteration 5 was lost with the kill and redone)
    before_kill = recorded(resumable)
    ranks = [recorded(resumable, rank) for rank in (0, 1)]
    with open(resumable / 'samples_rank0.jsonl') as file:
        killed_iteration_5 = [json.loads(line) for line in file][4]
    assert killed_iteration_5['iter'] == 5
    for iteration in range(5, 10):
        together = sorted(ranks[0][iteration] + ranks[1][iteration])
        assert len(together) == 8
        if iteration == 5:
            assert together == sorted(killed_iteration_5['samples'])
    epoch_2 = before_kill[4] + [
        index for iteration in (5, 6) for rank in ranks
        for index in rank[iteration]
    ]
    assert sorted(epoch_2) == list(range(24))


@pytest.mark.slow
def test_resume_with_other_queue_length_is_refused(resumable, train):
    log = train(
        resumable,
        returncode=1,
        resume=True,
        extra=('train_dataloader.batch_size=8', 'model.queue.length=24'))
    assert 'ValueError: model.queue.length is 24, but the checkpoint ' \
        'being resumed holds a queue (queue) of 48 keys' in log
    assert 'Set model.queue.length=48 to resume' in log
    assert 'Epoch(train)' not in log


@pytest.mark.slow
def test_batch_larger_than_data_set_stops_before_training(tmp_path, train):
    log = train(
        tmp_path,
        returncode=1,
        extra=('train_dataloader.batch_size=32', 'model.queue.length=64'))
    assert 'ValueError: train_dataloader.batch_size (32) is larger than ' \
        'the 24 images each of the 1 processes gets from the data set of ' \
        '24 images' in log
    assert 'Set train_dataloader.batch_size to at most 24' in log
    assert 'Epoch(train)' not in log
    assert checkpoints(tmp_path) == []


@pytest.mark.slow
def test_missing_data_root_is_named_before_the_teacher_loads(
        tmp_path, digits_disco_config, run_tool):
    missing = tmp_path / 'no_such_folder'
    log = run_tool([
        sys.executable, 'tools/train.py', digits_disco_config, '--work-dir',
        str(tmp_path / 'work_dir'), '--cfg-options',
        f'train_dataloader.dataset.data_root={missing}',
        f'model.teacher.checkpoint={tmp_path / "no_teacher.pth"}'
    ],
                   returncode=1)
    assert f"FileNotFoundError: train_dataloader.dataset.data_root is " \
        f"'{missing}', which is no folder" in log
    assert 'no_teacher.pth' not in log
