"""The command-line pieces shared by tools/train.py and tools/test.py."""
import argparse
import os
import os.path as osp

import pytest

from disco_mm.apis import add_runner_args, load_config
from disco_mm.apis.cli import apply_dataloader_defaults

TRAIN_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


@pytest.fixture
def parse(digits_disco_config, monkeypatch):
    """Returns a function parsing flags after the digits DisCo config.

    LOCAL_RANK is cleared first and restored after the test, since
    :func:`load_config` sets it.
    """
    monkeypatch.delenv('LOCAL_RANK', raising=False)

    def parse_flags(*flags, training=True):
        parser = argparse.ArgumentParser()
        parser.add_argument('config')
        add_runner_args(parser)
        if training:
            parser.add_argument('--no-persistent-workers', action='store_true')
        return parser.parse_args([digits_disco_config, *flags])

    return parse_flags


def test_defaults(parse, digits_disco_config):
    cfg = load_config(parse(), TRAIN_LOADERS)
    name = osp.splitext(osp.basename(digits_disco_config))[0]
    assert cfg.work_dir == osp.join('./work_dirs', name)
    assert cfg.launcher == 'none'
    assert os.environ['LOCAL_RANK'] == '0'
    assert 'model_wrapper_cfg' not in cfg


def test_flags_reach_config(parse):
    args = parse('--work-dir', 'runs/a', '--local-rank', '3', '--amp',
                 '--cfg-options', 'model.queue.length=16',
                 'train_cfg.max_epochs=2')
    assert args.amp
    cfg = load_config(args, TRAIN_LOADERS)
    assert cfg.work_dir == 'runs/a'
    assert cfg.model.queue.length == 16 and cfg.train_cfg.max_epochs == 2
    assert cfg.model.teacher.type == 'FrozenTeacher'
    assert os.environ['LOCAL_RANK'] == '3'


def test_launcher_choices(parse):
    assert parse('--launcher', 'pytorch').launcher == 'pytorch'
    with pytest.raises(SystemExit):
        parse('--launcher', 'ssh')


def test_dataloader_defaults_as_mmpretrain_tools(parse):
    """Missing entries get mmpretrain's defaults; the config's own win."""
    cfg = load_config(
        parse('--cfg-options', 'train_dataloader.pin_memory=False'),
        TRAIN_LOADERS)
    loader = cfg.train_dataloader
    assert loader.persistent_workers is True  # set by the digits config
    assert loader.collate_fn == dict(type='default_collate')
    # --cfg-options come after the defaults, as in mmpretrain's tools.
    assert loader.pin_memory is False
    for key in ('collate_fn', 'persistent_workers', 'pin_memory'):
        cfg.train_dataloader.pop(key)
    apply_dataloader_defaults(cfg, parse(), ['train_dataloader'])
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
    assert cfg.train_dataloader.persistent_workers is True
    assert cfg.train_dataloader.pin_memory is True


def test_no_pin_memory_and_no_persistent_workers(parse):
    cfg = load_config(
        parse('--no-pin-memory', '--no-persistent-workers'), TRAIN_LOADERS)
    assert cfg.train_dataloader.pin_memory is False
    assert cfg.train_dataloader.persistent_workers is False


def test_test_tool_sets_no_persistent_workers(parse):
    """Like mmpretrain's test.py: pin memory and collate, nothing else."""
    cfg = load_config(parse(training=False), ['train_dataloader'])
    assert cfg.train_dataloader.pin_memory is True
    assert cfg.train_dataloader.collate_fn == dict(type='default_collate')
