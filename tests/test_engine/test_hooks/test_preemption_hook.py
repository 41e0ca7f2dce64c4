"""PreemptionHook: which signals it takes, and the requeue command."""
import io
import logging
import os
import signal
from types import SimpleNamespace

import pytest
from mmengine.logging import MMLogger

from disco_mm.engine.hooks import PreemptionHook
from disco_mm.engine.hooks.preemption_hook import requeue_slurm_job


def handlers():
    """The current handlers of SIGTERM and SIGUSR1."""
    return signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGUSR1)


@pytest.mark.parametrize('job_id, takes_sigusr1', [(None, False),
                                                   ('4242', True)])
def test_sigusr1_is_taken_only_in_a_slurm_job(monkeypatch, job_id,
                                              takes_sigusr1):
    if job_id is None:
        monkeypatch.delenv('SLURM_JOB_ID', raising=False)
    else:
        monkeypatch.setenv('SLURM_JOB_ID', job_id)
    before = handlers()
    hook = PreemptionHook()
    runner = SimpleNamespace(logger=logging.getLogger('preemption_test'))
    hook.before_train(runner)
    during = handlers()
    hook.after_train(runner)
    assert during[0] == hook._record
    assert (during[1] == hook._record) == takes_sigusr1
    if not takes_sigusr1:
        assert during[1] == before[1]
    assert handlers() == before


def test_sigterm_takes_precedence_over_sigusr1():
    hook = PreemptionHook()
    hook._record(signal.SIGUSR1, None)
    assert hook._stop_signal() == signal.SIGUSR1
    hook._record(signal.SIGTERM, None)
    hook._record(signal.SIGUSR1, None)
    assert hook._stop_signal() == signal.SIGTERM


def test_failed_requeue_says_to_resubmit(tmp_path, monkeypatch):
    scontrol = tmp_path / 'scontrol'
    scontrol.write_text('#!/bin/sh\necho "Invalid job id" >&2\nexit 1\n')
    scontrol.chmod(0o755)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')
    log = io.StringIO()
    MMLogger.get_instance('requeue_test').addHandler(
        logging.StreamHandler(log))
    assert requeue_slurm_job('4242') is False
    monkeypatch.setenv('PATH', str(tmp_path / 'nothing'))
    assert requeue_slurm_job('4242') is False
    failed, missing = log.getvalue().splitlines()
    assert failed == ('scontrol requeue 4242 failed (exit status 1: Invalid '
                      'job id): the job is not requeued; submit it again '
                      'with --resume.')
    assert missing.startswith('scontrol requeue 4242 failed ([Errno 2] ')
