"""tools/dist_train.sh: two CPU processes train with DDP over gloo.

Also: a run whose process 1 is killed resumes to the same state, and every
process holds the same queue.
"""
import os.path as osp

import pytest
import torch


@pytest.fixture(scope='module')
def dist_run(tmp_path_factory, digits_teacher, digits_disco_config,
             small_run_options, run_tool, find_free_port):
    """Trains the digits DisCo config for one epoch with 2 processes.

    Each process takes 4 of the 16 images per step: one epoch is 2 steps.
    """
    work_dir = tmp_path_factory.mktemp('dist_train') / 'work_dir'
    options = [
        option for option in small_run_options
        if not option.startswith('train_dataloader.batch_size=')
    ]
    command = [
        'bash', 'tools/dist_train.sh', digits_disco_config, '2', '--work-dir',
        str(work_dir), '--cfg-options',
        f'model.teacher.checkpoint={digits_teacher[0]}',
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=4', *options
    ]
    log = run_tool(command, timeout=300, PORT=str(find_free_port()))
    return dict(work_dir=work_dir, log=log)


def test_two_processes_train_one_epoch(dist_run):
    log = dist_run['log']
    assert 'Distributed training: True' in log
    assert "launcher = 'pytorch'" in log
    assert 'device_ids=None' in log
    # 16 images / 2 processes / 4 per step: 2 steps; alone it would be 4
    assert 'Epoch(train) [1][2/2]' in log
    assert '[1][3/' not in log


def test_checkpoint_holds_keys_of_both_processes(dist_run):
    checkpoint = torch.load(
        dist_run['work_dir'] / 'epoch_1.pth', map_location='cpu')
    assert checkpoint['meta']['iter'] == 2
    state = checkpoint['state_dict']
    assert not [key for key in state if key.startswith('teacher.')]
    # each step enqueues the 4 keys of each of the 2 processes
    assert state['queue_ptr'].tolist() == [16]


@pytest.fixture(scope='module')
def killed_dist_run(tmp_path_factory, digits_teacher, config_with_hooks,
                    small_run_options, run_tool, find_free_port, repo_root):
    """The run of :func:`dist_run`, process 1 killed after iteration 2.

    Checkpoints come after every iteration; the kill leaves iter_1.pth
    (mid-epoch) and the run resumes from it with ``--resume``. Each process
    then saves its queue (``queue_rank{0,1}.pth``).
    """
    work_dir = tmp_path_factory.mktemp('dist_killed') / 'work_dir'
    options = [
        option for option in small_run_options
        if not option.startswith('train_dataloader.batch_size=')
    ] + [
        'train_cfg.max_epochs=1', 'train_dataloader.batch_size=4',
        'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=1'
    ]
    tests_dir = osp.join(repo_root, 'tests', 'test_tools')

    def launch(name, hooks, returncode, *flags):
        command = [
            'bash', 'tools/dist_train.sh',
            config_with_hooks(name, hooks), '2', '--work-dir',
            str(work_dir), *flags, '--cfg-options',
            f'model.teacher.checkpoint={digits_teacher[0]}', *options
        ]
        return run_tool(
            command,
            returncode=returncode,
            PORT=str(find_free_port()),
            PYTHONPATH=tests_dir)

    launch('dist_kill', [dict(type='KillAtIteration', iteration=2, rank=1)],
           1)
    with open(work_dir / 'last_checkpoint') as file:
        left = osp.basename(file.read().strip())
    log = launch('dist_resume', [dict(type='SaveQueueOfRank')], 0,
                 '--resume')
    return dict(work_dir=work_dir, left=left, log=log)


def test_killed_process_resumes_to_uninterrupted_state(killed_dist_run,
                                                       dist_run):
    assert killed_dist_run['left'] == 'iter_1.pth'
    assert 'resumed epoch: 0, iter: 1' in killed_dist_run['log']
    final = torch.load(
        killed_dist_run['work_dir'] / 'iter_2.pth', map_location='cpu')
    reference = torch.load(
        dist_run['work_dir'] / 'epoch_1.pth', map_location='cpu')
    assert final['state_dict'].keys() == reference['state_dict'].keys()
    for key, value in reference['state_dict'].items():
        torch.testing.assert_close(final['state_dict'][key], value, msg=key)


def test_queue_is_identical_on_every_process(killed_dist_run):
    queues = [
        torch.load(killed_dist_run['work_dir'] / f'queue_rank{rank}.pth')
        for rank in (0, 1)
    ]
    assert queues[0]['queue_ptr'].tolist() == [16]
    torch.testing.assert_close(queues[0], queues[1], rtol=0, atol=0)
