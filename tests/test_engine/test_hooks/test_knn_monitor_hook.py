"""KnnMonitorHook: when it logs, what it logs, and what it leaves alone."""
import glob
import json
import os.path as osp
import random
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from disco_mm.engine.hooks import KnnMonitorHook
from disco_mm.engine.hooks.exact_resume_hook import (random_states,
                                                     set_random_states)
from disco_mm.evaluation import extract_frozen_features, knn_top1

#: Bank and query subsets of the digits: 15 and 7 images, so that two
#: processes hold padded shares.
SUBSETS = {
    'custom_hooks.0.bank_dataloader.dataset.indices': 15,
    'custom_hooks.0.query_dataloader.dataset.indices': 7,
}


def options_dict(options):
    """``key=value`` strings as a dict of parsed values."""
    parsed = {}
    for option in options:
        key, value = option.split('=', 1)
        parsed[key] = {'False': False}.get(value, value)
        if value.isdigit():
            parsed[key] = int(value)
    return parsed


@pytest.fixture(scope='module')
def monitored_run(tmp_path_factory, digits_disco_config, digits_teacher,
                  small_run_options):
    """Trains the digits DisCo config 3 epochs, kNN every 2 epochs.

    Returns:
        tuple: The runner after training and its work dir.
    """
    work_dir = str(tmp_path_factory.mktemp('knn_monitor'))
    cfg = Config.fromfile(digits_disco_config)
    cfg.merge_from_dict({
        **options_dict(small_run_options),
        **SUBSETS,
        'model.teacher.checkpoint': digits_teacher[0],
        'train_cfg.max_epochs': 3,
        'custom_hooks.0.interval': 2,
    })
    cfg.work_dir = work_dir
    cfg.experiment_name = 'knn_monitor_test'
    runner = Runner.from_cfg(cfg)
    runner.train()
    return runner, work_dir


def monitor_of(runner):
    """The runner's KnnMonitorHook."""
    return next(hook for hook in runner.hooks
                if isinstance(hook, KnnMonitorHook))


def draws():
    """One number from each generator that training uses."""
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


@pytest.mark.slow
def test_logs_knn_top1_after_every_interval_epochs(monitored_run):
    runner, work_dir = monitored_run
    (scalars, ) = glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json'))
    with open(scalars) as file:
        records = [json.loads(line) for line in file]
    knn = [record for record in records if 'knn_top1' in record]
    # 3 epochs, interval 2: only after epoch 2.
    assert [(record['epoch'], record['step']) for record in knn] == [(2, 2)]
    assert 0 <= knn[0]['knn_top1'] <= 100
    assert runner.message_hub.get_scalar(
        'knn_top1').current() == knn[0]['knn_top1']
    (log, ) = glob.glob(osp.join(work_dir, '*', '*.log'))
    with open(log) as file:
        text = file.read()
    assert f'Epoch(knn) [2]  knn_top1: {knn[0]["knn_top1"]:.2f}' in text
    assert 'bank 15 images, queries 7 images' in text
    assert 'Epoch(knn) [1]' not in text and 'Epoch(knn) [3]' not in text


@pytest.mark.slow
def test_evaluation_restores_train_mode_and_random_states(monitored_run):
    runner, _ = monitored_run
    hook = monitor_of(runner)
    runner.model.train()
    # Building a loader iterator draws from torch's generator: without the
    # restore, the evaluation would shift the training's random numbers.
    before = torch.get_rng_state()
    iter(hook._build_loaders(runner)['bank'])
    assert not torch.equal(before, torch.get_rng_state())

    states = random_states()
    top1 = hook.evaluate(runner)
    after_evaluation = draws()
    set_random_states(states)
    assert draws() == after_evaluation
    assert runner.model.training and runner.model.backbone.training
    assert not runner.model.teacher.training

    loaders = hook._build_loaders(runner)
    bank, query = (extract_frozen_features(runner.model, loaders[name])
                   for name in ('bank', 'query'))
    assert (len(bank.labels), len(query.labels)) == (15, 7)
    assert top1 == knn_top1(bank.pooled, bank.labels, query.pooled,
                            query.labels, k=20, temperature=0.07)


@pytest.mark.slow
def test_embeddings_feature_uses_the_student_projector(monitored_run):
    runner, _ = monitored_run
    hook = monitor_of(runner)
    hook.feature = 'embeddings'
    try:
        top1 = hook.evaluate(runner)
    finally:
        hook.feature = 'pooled'
    loaders = hook._build_loaders(runner)
    bank, query = (extract_frozen_features(runner.model, loaders[name])
                   for name in ('bank', 'query'))
    assert bank.embeddings.shape[1] == 128
    assert top1 == knn_top1(bank.embeddings, bank.labels, query.embeddings,
                            query.labels)


@pytest.mark.parametrize(
    'settings, message',
    [(dict(feature='logits'), 'feature must be one of'),
     (dict(interval=0), 'interval and k must be >= 1')])
def test_rejects_meaningless_settings(settings, message):
    with pytest.raises(ValueError, match=message):
        KnnMonitorHook(bank_dataloader={}, query_dataloader={}, **settings)


def test_two_processes_log_what_one_process_computes(
        tmp_path, repo_root, small_run_options, run_tool, find_free_port,
        load_analysis_tool, monkeypatch):
    """2-process DDP: the gathered bank and queries lose their padding and
    the logged top-1 is knn_eval.py's on the saved checkpoint."""
    config = osp.join(repo_root, 'configs', 'mocov2',
                      'mocov2_resnet18-w16_1xb64-coslr-60e_digits.py')
    work_dir = tmp_path / 'work_dir'
    options = [
        option for option in small_run_options
        if not option.startswith('train_dataloader.batch_size=')
    ] + [f'{key}={value}' for key, value in SUBSETS.items()]
    log = run_tool(
        [
            'bash', 'tools/dist_train.sh', config, '2', '--work-dir',
            str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
            'train_dataloader.batch_size=4', 'custom_hooks.0.interval=1',
            *options
        ],
        PORT=str(find_free_port()))
    assert 'Distributed training: True' in log
    assert log.count('Epoch(knn) [1]') == 1
    assert 'bank 15 images, queries 7 images' in log
    logged = float(log.split('Epoch(knn) [1]  knn_top1: ')[1].split()[0])

    knn_eval = load_analysis_tool('knn_eval')
    monkeypatch.setattr(sys, 'argv', [
        'knn_eval.py', config,
        str(work_dir / 'epoch_1.pth'), '--out',
        str(tmp_path / 'knn.json'), '--device', 'cpu', '--cfg-options',
        'eval_train_dataloader.dataset.indices=15',
        'eval_test_dataloader.dataset.indices=7'
    ])
    knn_eval.main()
    result = json.loads((tmp_path / 'knn.json').read_text())
    assert (result['bank_images'], result['query_images']) == (15, 7)
    assert result['results'][0]['k'] == 20
    assert result['results'][0]['top1'] == pytest.approx(logged, abs=0.005)


def test_student_without_projector_is_monitored(tmp_path, run_tool,
                                                digits_teacher):
    """CompRess-2q's digits config (no projector) through tools/train.py."""
    log = run_tool([
        sys.executable, 'tools/train.py', 'configs/compress/'
        'compress-2q_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py',
        '--work-dir',
        str(tmp_path), '--cfg-options',
        f'model.teacher.checkpoint={digits_teacher[0]}',
        'train_cfg.max_epochs=1', 'custom_hooks.0.interval=1',
        'train_dataloader.batch_size=8', 'model.teacher_bank.length=24',
        'model.student_bank.length=24', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.indices=16'
    ])
    assert 'Epoch(knn) [1]  knn_top1:' in log
