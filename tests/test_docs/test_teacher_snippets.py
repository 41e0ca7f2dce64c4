"""docs/teachers.md: its torchvision and timm teacher snippets build and run.

Each snippet's exact text goes into a config that inherits the ResNet-18
DisCo config, as the page says; the teacher files it names are random
weights of the named architectures, written at test time.
"""
import os
import os.path as osp
import re

import pytest
import timm
import torch
import torchvision
from mmengine.config import Config
from mmpretrain.registry import MODELS

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(REPO_ROOT, 'docs', 'teachers.md')
BASE_CONFIG = osp.join(REPO_ROOT, 'configs', 'disco',
                       'disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py')
#: The teacher files of the snippets tested here.
TEACHER_FILES = ('resnet50.pth', 'efficientnet_b3.pth')


def config_snippets():
    """The snippets of the page's config example that name a teacher file
    of :data:`TEACHER_FILES`, each as written (blank-line separated)."""
    with open(DOC) as doc:
        section = doc.read().split('## Pointing a config at a teacher')[1]
    code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
    return [
        snippet.strip() for snippet in code.split('\n\n')
        if any(name in snippet for name in TEACHER_FILES)
    ]


@pytest.fixture(scope='module')
def teacher_files(tmp_path_factory):
    """A folder with the snippets' ``checkpoints/``: a torchvision
    ResNet-50, its MoCo-v2 projector alone and a timm EfficientNet-B3, of
    random weights."""
    folder = tmp_path_factory.mktemp('teacher_files')
    os.makedirs(folder / 'checkpoints')
    projector = MODELS.build(
        dict(
            type='MoCoV2Neck',
            in_channels=2048,
            hid_channels=2048,
            out_channels=128,
            with_avg_pool=True))
    files = {
        'resnet50.pth': torchvision.models.resnet50().state_dict(),
        'projector.pth': projector.state_dict(),
        'efficientnet_b3.pth':
        timm.create_model('efficientnet_b3').state_dict(),
    }
    for name, state in files.items():
        torch.save(state, folder / 'checkpoints' / name)
    return folder


def test_the_page_has_the_three_snippets():
    snippets = config_snippets()
    assert len(snippets) == 3
    assert sum('neck=None' in snippet for snippet in snippets) == 2


@pytest.mark.parametrize(
    'index,embedding_width', [(0, 2048), (1, 128), (2, 1536)],
    ids=['torchvision-pooled', 'torchvision-projector-file', 'timm-pooled'])
def test_snippet_builds_the_resnet18_disco_and_runs_its_loss(
        index, embedding_width, teacher_files, tmp_path, monkeypatch):
    config = tmp_path / 'snippet.py'
    config.write_text(f'_base_ = {BASE_CONFIG!r}\n\n'
                      f'{config_snippets()[index]}\n')
    cfg = Config.fromfile(str(config))
    # only the test's memory: a queue of 65,536 x 2048 would take 512 MiB
    cfg.model.queue.length = 16
    monkeypatch.chdir(teacher_files)  # the snippets' checkpoints/ paths
    model = MODELS.build(cfg.model)
    model.init_weights()
    views = [torch.randn(2, 3, 32, 32) for _ in range(2)]
    with torch.no_grad():
        assert model.teacher(views[0]).shape == (2, embedding_width)
        assert model.embed(views[0]).shape == (2, embedding_width)
    losses = model.loss(views, [])
    assert set(losses) == {'loss_contrastive', 'loss_distill'}
    assert all(torch.isfinite(loss) and loss > 0 for loss in losses.values())
