"""tools/dist_train.sh: two CPU processes train with DDP over gloo."""
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
