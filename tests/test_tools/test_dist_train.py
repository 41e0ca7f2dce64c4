"""tools/dist_train.sh: two CPU processes train with DDP over gloo.

Also: a run whose process 1 is killed resumes to the same state, and every
process holds the same queue; a run whose launcher receives SIGTERM saves
and resumes to the same state; two launchers (NNODES=2, one process each)
train, are killed and resume to the same state as one launcher of two.
"""
import os.path as osp
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch
from training_state import assert_same_training_state, load


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
    assert 'No GPU: 2 processes in a gloo group' in log
    assert "'device_ids': None" in log
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
    assert state['queue.pointer'].tolist() == [16]


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
    assert queues[0]['pointer'].tolist() == [16]
    torch.testing.assert_close(queues[0], queues[1], rtol=0, atol=0)


def options_of_two_processes(small_run_options, *more):
    """The small run's options with 4 images per process and step."""
    return [
        option for option in small_run_options
        if not option.startswith('train_dataloader.batch_size=')
    ] + ['train_cfg.max_epochs=1', 'train_dataloader.batch_size=4', *more]


@pytest.mark.slow
def test_sigterm_to_the_launcher_saves_and_resumes_exactly(
        tmp_path, dist_run, digits_teacher, config_with_hooks,
        small_run_options, run_tool, find_free_port, repo_root):
    work_dir = tmp_path / 'work_dir'
    options = options_of_two_processes(small_run_options)

    def launch(name, hooks, returncode, *flags):
        return run_tool(
            [
                'bash', 'tools/dist_train.sh',
                config_with_hooks(name, hooks), '2', '--work-dir',
                str(work_dir), *flags, '--cfg-options',
                f'model.teacher.checkpoint={digits_teacher[0]}', *options
            ],
            returncode=returncode,
            PORT=str(find_free_port()),
            PYTHONPATH=osp.join(repo_root, 'tests', 'test_tools'))

    # torchrun forwards the SIGTERM to both processes, which stop after the
    # same iteration (the first, or the second if the signal arrives late)
    log = launch('dist_sigterm',
                 [dict(type='SigtermAtIteration', iteration=1,
                       to_launcher=True)], 1)
    stopped = re.search(
        r'SIGTERM received: stopped after iteration (\d), saved in (\S+)\.',
        log)
    assert stopped.group(2) == f'{work_dir}/iter_{stopped.group(1)}.pth'
    assert osp.isfile(stopped.group(2))
    log = launch('dist_sigterm_resume', [], 0, '--resume')
    assert f'resumed epoch: 0, iter: {stopped.group(1)}' in log
    assert_same_training_state(
        load(work_dir / 'epoch_1.pth'), load(dist_run['work_dir'] /
                                             'epoch_1.pth'))


@pytest.mark.slow
def test_two_nodes_are_killed_and_resume_exactly(
        tmp_path, dist_run, digits_teacher, config_with_hooks,
        small_run_options, run_tool, find_free_port, repo_root):
    work_dir = tmp_path / 'work_dir'
    options = options_of_two_processes(
        small_run_options, 'default_hooks.checkpoint.by_epoch=False',
        'default_hooks.checkpoint.interval=1')

    def launch_two_nodes(name, hooks, returncode, *flags):
        """Starts node 0 and node 1 (one process each) on this machine."""
        config = config_with_hooks(name, hooks)
        port = str(find_free_port())
        with ThreadPoolExecutor(2) as pool:
            nodes = [
                pool.submit(
                    run_tool, [
                        'bash', 'tools/dist_train.sh', config, '1',
                        '--work-dir',
                        str(work_dir), *flags, '--cfg-options',
                        f'model.teacher.checkpoint={digits_teacher[0]}',
                        *options
                    ],
                    returncode=returncode,
                    NNODES='2',
                    NODE_RANK=str(node),
                    MASTER_ADDR='127.0.0.1',
                    PORT=port,
                    PYTHONPATH=osp.join(repo_root, 'tests', 'test_tools'))
                for node in (0, 1)
            ]
            return [node.result() for node in nodes]

    # the process of node 1 (rank 1) is killed after iteration 2
    launch_two_nodes('two_nodes_kill',
                     [dict(type='KillAtIteration', iteration=2, rank=1)], 1)
    with open(work_dir / 'last_checkpoint') as file:
        assert file.read() == 'iter_1.pth'
    node_0, node_1 = launch_two_nodes('two_nodes_resume', [], 0, '--resume')
    assert 'Distributed training: True' in node_0
    assert 'resumed epoch: 0, iter: 1' in node_0
    # only rank 0 logs; rank 1 shows the file it loaded
    assert f'by local backend from path: {work_dir}/iter_1.pth' in node_1
    assert 'Saving checkpoint at 2 iterations' in node_0
    assert_same_training_state(
        load(work_dir / 'iter_2.pth'), load(dist_run['work_dir'] /
                                            'epoch_1.pth'))
