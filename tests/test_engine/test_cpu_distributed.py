"""Several processes without a GPU: the ReliableRunner's gloo set-up.

Two real processes train in tests/test_tools/test_dist_train.py; here one
process of a one-process job checks the set-up itself.
"""
import argparse

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import BaseModel, MMDistributedDataParallel

from disco_mm.apis import add_runner_args, build_runner, load_config
from disco_mm.engine import ReliableRunner
from disco_mm.engine.cpu_distributed import joins_cpu_process_group


class LinearModel(BaseModel):
    """The smallest model a Runner builds and wraps."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.linear(inputs)


@pytest.fixture
def cpu_only(monkeypatch):
    """Makes torch report no GPU."""
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)


@pytest.fixture
def single_process_env(monkeypatch, find_free_port):
    """The environment torchrun gives the only process of a 1-process job.

    The process group is destroyed after the test.
    """
    for name, value in dict(
            MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(find_free_port()),
            RANK='0',
            LOCAL_RANK='0',
            WORLD_SIZE='1').items():
        monkeypatch.setenv(name, value)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def reliable_runner(tmp_path, launcher='pytorch', **kwargs):
    """A ReliableRunner of :class:`LinearModel` in mmpretrain's scope."""
    return ReliableRunner(
        model=LinearModel(),
        work_dir=str(tmp_path),
        launcher=launcher,
        default_scope='mmpretrain',
        experiment_name=f'{launcher}-{tmp_path.name}',
        **kwargs)


def test_pytorch_launcher_on_cpu_joins_gloo(tmp_path, cpu_only,
                                            single_process_env):
    runner = reliable_runner(tmp_path)
    assert dist.is_initialized()
    assert dist.get_backend() == 'gloo' and dist.get_world_size() == 1
    assert isinstance(runner.model, MMDistributedDataParallel)
    assert runner.model.device_ids is None
    assert runner.model.broadcast_buffers is False


def test_own_wrapper_config_is_kept(tmp_path, cpu_only, single_process_env):
    wrapper = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=True,
        find_unused_parameters=True)
    runner = reliable_runner(tmp_path, cfg=dict(model_wrapper_cfg=wrapper))
    assert runner.model.broadcast_buffers is True
    assert runner.model.find_unused_parameters is True


def test_config_find_unused_parameters_reaches_ddp(tmp_path, cpu_only,
                                                   single_process_env):
    runner = reliable_runner(
        tmp_path, cfg=dict(find_unused_parameters=True))
    assert runner.model.find_unused_parameters is True


def test_no_launcher_joins_no_group(tmp_path, cpu_only):
    runner = reliable_runner(tmp_path, launcher='none')
    assert not dist.is_initialized()
    assert not isinstance(runner.model, MMDistributedDataParallel)


def test_gpus_keep_mmengine_set_up(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert not joins_cpu_process_group('pytorch')


@pytest.mark.parametrize('launcher', ['slurm', 'mpi'])
def test_other_launchers_without_gpu_raise(cpu_only, launcher):
    with pytest.raises(
            RuntimeError,
            match=f'--launcher {launcher} needs GPUs.*dist_train.sh'):
        joins_cpu_process_group(launcher)


def parse_flags(config, *flags):
    """Parses the common tool flags after ``config``."""
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_runner_args(parser)
    return parser.parse_args([config, *flags])


def test_load_config_opens_no_process_group(digits_disco_config, cpu_only,
                                            single_process_env):
    cfg = load_config(
        parse_flags(digits_disco_config, '--launcher', 'pytorch'),
        ['train_dataloader'])
    assert cfg.launcher == 'pytorch'
    assert not dist.is_initialized() and 'model_wrapper_cfg' not in cfg


def test_plain_runner_without_gpu_refused_with_the_fix(tmp_path, cpu_only):
    cfg = Config(
        dict(
            model=dict(type='LinearModel'),
            work_dir=str(tmp_path),
            launcher='pytorch'))
    with pytest.raises(
            RuntimeError,
            match=r'Runner needs a GPU.*--cfg-options '
            r'runner_type=ReliableRunner'):
        build_runner(cfg)
