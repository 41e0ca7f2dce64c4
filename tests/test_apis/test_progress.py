"""TrainingProgressHook: the bar's count and its share of data wait."""
import io
import logging
from types import SimpleNamespace

import pytest

from disco_mm.apis import TrainingProgressHook


class Clock:
    """A clock that shows the time it is set to."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


@pytest.fixture
def console():
    """A stream and a logger whose handler writes to it."""
    stream = io.StringIO()
    logger = logging.getLogger('progress_hook_test')
    logger.handlers = []
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return stream, logger, handler


def runner_at(iteration, max_iters, logger):
    """A stand-in for the Runner before ``iteration`` (0-based)."""
    return SimpleNamespace(
        epoch=0, iter=iteration, max_iters=max_iters, logger=logger)


def test_data_wait_is_the_share_of_wall_time_before_batches(console):
    stream, logger, _ = console
    clock = Clock()
    hook = TrainingProgressHook(stream, clock)
    runner = runner_at(0, 3, logger)
    hook.before_train(runner)
    hook.before_train_epoch(runner)
    shares = []
    # (batch arrives, iteration ends, start of the next epoch or None)
    for iteration, (arrives, ends, next_epoch) in enumerate([(2, 5, None),
                                                             (6, 10, 14),
                                                             (15, 20, None)]):
        clock.now = arrives
        runner.iter = iteration
        hook.before_train_iter(runner, iteration)
        clock.now = ends
        hook.after_train_iter(runner, iteration)
        shares.append(hook.data_wait_share())
        if next_epoch is not None:
            # the end-of-epoch hooks (checkpoint, kNN) are no data wait
            clock.now = next_epoch
            hook.before_train_epoch(runner)
    # waits: 2 s before the first batch, 1 s before the second, 1 s after
    # the epoch's start before the third
    assert shares == [2 / 5, 3 / 10, 4 / 20]
    bars = stream.getvalue().split('\r')
    assert [bar.split(', ')[0][-3:] for bar in bars[1:]] == [
        '1/3', '2/3', '3/3'
    ]
    assert [bar.rsplit(', ', 1)[1] for bar in bars[1:]] == [
        'data wait: 40%', 'data wait: 30%', 'data wait: 20%'
    ]


def test_wait_before_the_first_epoch_starts_at_the_epoch(console):
    stream, logger, _ = console
    clock = Clock()
    hook = TrainingProgressHook(stream, clock)
    runner = runner_at(0, 1, logger)
    hook.before_train(runner)
    clock.now = 3  # building the loop, loading a checkpoint
    hook.before_train_epoch(runner)
    clock.now = 4
    hook.before_train_iter(runner, 0)
    clock.now = 8
    hook.after_train_iter(runner, 0)
    assert hook.data_wait_share() == 1 / 8


def test_log_lines_start_under_the_bar(console):
    stream, logger, handler = console
    hook = TrainingProgressHook(stream, Clock())
    runner = runner_at(0, 2, logger)
    hook.before_train(runner)
    logger.info('before the first iteration')
    hook.before_train_epoch(runner)
    hook.before_train_iter(runner, 0)
    hook.after_train_iter(runner, 0)
    logger.info('Epoch(train) [1][1/2]')
    runner.iter = 1
    hook.before_train_iter(runner, 1)
    hook.after_train_iter(runner, 1)
    hook.after_train(runner)
    lines = stream.getvalue().split('\n')
    assert lines[0].startswith('[') and lines[0].endswith('ETA:')
    assert lines[1] == 'before the first iteration'
    assert lines[2].startswith('\r[') and '] 1/2, ' in lines[2]
    assert lines[3] == 'Epoch(train) [1][1/2]'
    assert '] 2/2, ' in lines[4] and lines[4].endswith('data wait: 0%')
    assert lines[5] == ''
    assert handler.stream is stream


@pytest.mark.parametrize('stream, draws', [(Terminal(), 250),
                                           (io.StringIO(), 125)])
def test_files_get_about_a_hundred_redraws(stream, draws):
    hook = TrainingProgressHook(stream, Clock())
    runner = runner_at(0, 250, logging.getLogger('progress_redraws'))
    hook.before_train(runner)
    for iteration in range(250):
        runner.iter = iteration
        hook.before_train_iter(runner, iteration)
        hook.after_train_iter(runner, iteration)
    output = stream.getvalue()
    # a file: every 2nd iteration (250 // 100), and the last
    assert output.count('data wait:') == draws
    assert '] 250/250, ' in output.rsplit('\r', 1)[1]
