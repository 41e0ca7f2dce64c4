"""The command-line pieces shared by tools/train.py and tools/test.py."""
import argparse
import os
import os.path as osp

import pytest

from disco_mm.apis import add_runner_args, load_config


@pytest.fixture
def parse(digits_disco_config, monkeypatch):
    """Returns a function parsing flags after the digits DisCo config.

    LOCAL_RANK is cleared first and restored after the test, since
    :func:`load_config` sets it.
    """
    monkeypatch.delenv('LOCAL_RANK', raising=False)

    def parse_flags(*flags):
        parser = argparse.ArgumentParser()
        parser.add_argument('config')
        add_runner_args(parser)
        return parser.parse_args([digits_disco_config, *flags])

    return parse_flags


def test_defaults(parse, digits_disco_config):
    cfg = load_config(parse())
    name = osp.splitext(osp.basename(digits_disco_config))[0]
    assert cfg.work_dir == osp.join('./work_dirs', name)
    assert cfg.launcher == 'none'
    assert os.environ['LOCAL_RANK'] == '0'
    assert 'model_wrapper_cfg' not in cfg


def test_flags_reach_config(parse):
    args = parse('--work-dir', 'runs/a', '--local-rank', '3', '--amp',
                 '--cfg-options', 'model.queue_len=16',
                 'train_cfg.max_epochs=2')
    assert args.amp
    cfg = load_config(args)
    assert cfg.work_dir == 'runs/a'
    assert cfg.model.queue_len == 16 and cfg.train_cfg.max_epochs == 2
    assert cfg.model.teacher.type == 'FrozenTeacher'
    assert os.environ['LOCAL_RANK'] == '3'


def test_launcher_choices(parse):
    assert parse('--launcher', 'pytorch').launcher == 'pytorch'
    with pytest.raises(SystemExit):
        parse('--launcher', 'ssh')
