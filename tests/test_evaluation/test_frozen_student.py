"""A student rebuilt from config and checkpoint, and the tools using it."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from disco_mm.checkpoints import CheckpointFormatError
from disco_mm.evaluation import extract_frozen_features
from disco_mm.evaluation.frozen_student import (eval_loader_configs,
                                                frozen_student, read_config)
from disco_mm.evaluation.pictures import DPI, PANEL_SIZE


@pytest.fixture
def tiny_student(tmp_path, build_tiny, tiny_cfg, repo_root):
    """A tiny MoCo-v2 student: the model, its config (with the digits
    evaluation loaders), its checkpoint and an export of its backbone
    alone."""
    # the rebuilt student's memory layout, so that rounding is the same
    model = build_tiny('MoCoV2Student', channels_last=False).eval()
    checkpoint = tmp_path / 'student.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    backbone_only = tmp_path / 'backbone.pth'
    torch.save({
        'state_dict': {
            key: value
            for key, value in model.state_dict().items()
            if key.startswith('backbone.')
        }
    }, backbone_only)
    eval_base = osp.join(repo_root, 'configs', '_base_', 'datasets',
                         'digits_eval.py')
    config = tmp_path / 'tiny_student.py'
    config.write_text(
        f'_base_ = {eval_base!r}\n'
        f'model = dict(backbone={tiny_cfg["backbone"]!r}, '
        f'neck={tiny_cfg["neck"]!r})\n')
    cfg = Config.fromfile(str(config))
    cfg.eval_test_dataloader.dataset.indices = 12
    loader = Runner.build_dataloader(
        eval_loader_configs(cfg, str(config))['query'])
    return dict(
        model=model,
        cfg=cfg,
        config=str(config),
        loader=loader,
        checkpoint=str(checkpoint),
        backbone_only=str(backbone_only))


def test_rebuilt_student_gives_the_trained_features(tiny_student):
    expected = extract_frozen_features(tiny_student['model'],
                                       tiny_student['loader'])
    rebuilt = frozen_student(tiny_student['cfg'], tiny_student['checkpoint'],
                             'embeddings')
    assert not hasattr(rebuilt, 'teacher') and not rebuilt.training
    features = extract_frozen_features(rebuilt, tiny_student['loader'])
    torch.testing.assert_close(features.pooled, expected.pooled)
    torch.testing.assert_close(features.embeddings, expected.embeddings)
    assert torch.equal(features.labels, expected.labels)


def test_exported_backbone_gives_pooled_features_only(tiny_student):
    expected = extract_frozen_features(tiny_student['model'],
                                       tiny_student['loader'])
    rebuilt = frozen_student(tiny_student['cfg'],
                             tiny_student['backbone_only'])
    torch.testing.assert_close(
        extract_frozen_features(rebuilt, tiny_student['loader']).pooled,
        expected.pooled)
    with pytest.raises(CheckpointFormatError, match='projector'):
        frozen_student(tiny_student['cfg'], tiny_student['backbone_only'],
                       'embeddings')


def test_checkpoint_of_another_width_is_refused(tiny_student):
    cfg = tiny_student['cfg']
    cfg.model.neck.hid_channels = 32
    with pytest.raises(CheckpointFormatError,
                       match=r'(?s)does not fit the config.*size mismatch'):
        frozen_student(cfg, tiny_student['checkpoint'], 'embeddings')
    cfg.model.backbone.base_channels = 16
    with pytest.raises(CheckpointFormatError, match='lacks 6 of'):
        frozen_student(cfg, tiny_student['checkpoint'])


def test_dataset_config_without_eval_loaders_uses_train_and_val():
    cfg = Config(
        dict(
            train_dataloader=dict(
                batch_size=2,
                sampler=dict(type='DefaultSampler', shuffle=True),
                dataset=dict(type='Digits', pipeline=['augment'])),
            val_dataloader=dict(
                batch_size=4,
                dataset=dict(type='Digits', pipeline=['plain']))))
    loaders = eval_loader_configs(cfg, 'dataset.py')
    # mmpretrain's tools' collate where the config sets none (mmengine's
    # own fallback would hand the model a list of samples)
    assert loaders['query'] == dict(
        cfg.val_dataloader, collate_fn=dict(type='default_collate'))
    assert loaders['bank'].collate_fn == dict(type='default_collate')
    assert loaders['bank'].dataset.pipeline == ['plain']
    assert not loaders['bank'].sampler.shuffle
    # the config itself is left as it was
    assert cfg.train_dataloader.dataset.pipeline == ['augment']
    with pytest.raises(KeyError, match='--data-config'):
        eval_loader_configs(Config(dict(train_dataloader={})), 'model.py')


def test_mmpretrain_imagenet_config_gives_center_crop_bank_and_val():
    cfg = read_config('mmpretrain::_base_/datasets/imagenet_bs32.py')
    loaders = eval_loader_configs(cfg, 'imagenet_bs32.py')
    assert loaders['bank'].dataset.split == 'train'
    assert loaders['query'].dataset.split == 'val'
    assert [step['type'] for step in loaders['bank'].dataset.pipeline] == [
        'LoadImageFromFile', 'ResizeEdge', 'CenterCrop', 'PackInputs'
    ]


def test_embedding_tool_draws_a_panel_per_model(tiny_student,
                                                load_analysis_tool, tmp_path,
                                                monkeypatch, capsys):
    tool = load_analysis_tool('visualize_embeddings')
    out = tmp_path / 'embeddings.png'
    monkeypatch.setattr(sys, 'argv', [
        'visualize_embeddings.py', '--model', 'trained',
        tiny_student['config'], tiny_student['checkpoint'], '--model',
        'again', tiny_student['config'], tiny_student['checkpoint'],
        '--data-config', tiny_student['config'], '--max-images', '20',
        '--out',
        str(out)
    ])
    tool.main()
    output = capsys.readouterr().out
    assert f'2 maps of 20 images written to {out}' in output
    # each model's extraction: a bar of its batches, with the ETA
    for title in ('trained', 'again'):
        assert f'Extracting {title} features (20 images, 1 batches)' in output
    assert output.count('] 1/1, ') == 2 and 'ETA:' in output
    with Image.open(out) as image:
        assert image.format == 'PNG'
        assert image.size == (2 * PANEL_SIZE[0] * DPI, PANEL_SIZE[1] * DPI)
