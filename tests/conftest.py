"""Shared fixtures of the disco_mm test suite.

Importing :mod:`disco_mm` here registers its components into mmpretrain's
registries and applies the fixes of :mod:`disco_mm.compat` once for every
test, as a training run does.
"""
import copy
import importlib.util
import logging
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys

# One thread per process (unless set otherwise) for this process and the
# tools it starts: the tensors are tiny, and on a busy machine OpenMP's
# waiting threads made the suite several times slower.
os.environ.setdefault('OMP_NUM_THREADS', '1')

import pytest  # noqa: E402
import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
from mmpretrain.registry import MODELS  # noqa: E402

import disco_mm  # noqa: E402,F401
from disco_mm import precision  # noqa: E402
from checkpoint_layouts import teacher_state_dict  # noqa: E402
from repo_paths import REPO_ROOT  # noqa: E402

torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))


DIGITS_DISCO_CONFIG = osp.join(
    REPO_ROOT, 'configs', 'disco',
    'disco_resnet18-w16_mocov2-r18-w32_1xb64-coslr-60e_digits.py')

# A ResNet-18 of width 8 (64-d feature) with a 16-4 projector: every test
# model is this small unless it checks a real architecture.
TINY_BACKBONE = dict(
    type='ResNet',
    depth=18,
    stem_channels=8,
    base_channels=8,
    zero_init_residual=False)
TINY_NECK = dict(
    type='MoCoV2Neck',
    in_channels=64,
    hid_channels=16,
    out_channels=4,
    with_avg_pool=True)
TINY_HEAD = dict(
    type='ContrastiveHead',
    loss=dict(type='CrossEntropyLoss'),
    temperature=0.2)

# The components each algorithm adds to the tiny student: the contrastive
# head, queues of 8 and momentum 0.9.
TINY_QUEUE = dict(type='EmbeddingQueue', length=8)
TINY_KEY_ENCODER = dict(type='MomentumEncoder', momentum=0.9)
TINY_MOCO = dict(
    head=TINY_HEAD, key_encoder=TINY_KEY_ENCODER, queue=TINY_QUEUE)
TINY_COMPONENTS = {
    'MoCoV2Student': TINY_MOCO,
    'DisCo': TINY_MOCO,
    'SEED': dict(queue=TINY_QUEUE),
    'BINGO': dict(head=TINY_HEAD, queue=TINY_QUEUE),
    'SimReg': {},
    'CompRess1q': dict(teacher_bank=TINY_QUEUE),
    'CompRess2q': dict(
        teacher_bank=TINY_QUEUE,
        student_bank=TINY_QUEUE,
        key_encoder=TINY_KEY_ENCODER),
}

# The tiny training every tools/ test runs: 16 digits, batch 8, one epoch =
# 2 iterations. A queue of 24 is no multiple of 16, so the queue pointer
# after 2 iterations (16) tells how many keys entered.
SMALL_RUN_OPTIONS = (
    'train_dataloader.batch_size=8',
    'model.queue.length=24',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'train_dataloader.dataset.indices=16',
    'default_hooks.logger.interval=1',
)


#: Fixtures that run a tool in a subprocess: a test using one (directly or
#: through another fixture) is an end-to-end run, marked ``slow``.
SUBPROCESS_FIXTURES = {'run_tool', 'digits_run'}


def pytest_configure(config):
    """Registers the ``slow`` marker: ``pytest -m "not slow"`` skips them."""
    config.addinivalue_line(
        'markers', 'slow: an end-to-end run of a tool in a subprocess')
    config.addinivalue_line(
        'markers', "machine_precision: a teacher's precision='auto' as "
        'this machine resolves it (float32 in other tests)')


def pytest_collection_modifyitems(items):
    """Marks every test that runs a tool in a subprocess as ``slow``."""
    for item in items:
        if SUBPROCESS_FIXTURES & set(getattr(item, 'fixturenames', ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope='session', autouse=True)
def mmpretrain_scope():
    """Makes mmpretrain the default scope, as the configs do."""
    init_default_scope('mmpretrain')


@pytest.fixture(autouse=True)
def seeded():
    """Seeds torch so that every test sees the same random tensors."""
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def float32_auto_precision(request, monkeypatch):
    """Makes a teacher's ``precision='auto'`` float32 in this process.

    The tests compare a teacher's numbers with hand computations and float64
    references, on any CPU; ``'auto'`` would make them bfloat16 on CPUs
    with native bfloat16. Tests marked ``machine_precision`` see the
    machine's own choice; tools run in a subprocess always do.
    """
    if 'machine_precision' not in request.keywords:
        monkeypatch.setattr(precision, 'auto_precision', lambda: 'fp32')


@pytest.fixture
def tiny_cfg():
    """Returns fresh copies of the tiny backbone, neck and head configs."""
    return copy.deepcopy(
        dict(backbone=TINY_BACKBONE, neck=TINY_NECK, head=TINY_HEAD))


@pytest.fixture(scope='session')
def make_teacher_checkpoint():
    """Returns a function that writes a random teacher checkpoint.

    The function takes ``path``, ``backbone`` and ``neck`` configs and
    optional ``extra`` entries (e.g. ``encoder_k.*``, ``queue``) stored next
    to the teacher's, and returns the teacher's state dict as saved, in an
    mmpretrain-style ``{'state_dict': ...}`` file.
    """

    def make(path, backbone=TINY_BACKBONE, neck=TINY_NECK, extra=None):
        state = teacher_state_dict(backbone, neck)
        torch.save({'state_dict': {**state, **(extra or {})}}, str(path))
        return state

    return make


@pytest.fixture
def tiny_teacher(tmp_path, make_teacher_checkpoint):
    """A tiny teacher checkpoint: its path and the weights it holds."""
    path = tmp_path / 'teacher.pth'
    return str(path), make_teacher_checkpoint(path)


@pytest.fixture
def build_tiny(tiny_cfg, tiny_teacher):
    """Returns a function that builds a tiny algorithm by registry name.

    The model has the tiny student (4-d embeddings) and the components of
    ``TINY_COMPONENTS`` (queues of 8, momentum 0.9); a ``DisCo`` gets the
    :func:`tiny_teacher` as its :class:`FrozenTeacher`. Keyword arguments
    override the model config. The model is initialised and in train mode.
    """

    def build(algorithm, **overrides):
        cfg = dict(
            type=algorithm,
            backbone=tiny_cfg['backbone'],
            neck=tiny_cfg['neck'],
            **copy.deepcopy(TINY_COMPONENTS[algorithm]))
        if algorithm == 'DisCo':
            cfg['teacher'] = dict(
                type='FrozenTeacher',
                backbone=tiny_cfg['backbone'],
                neck=tiny_cfg['neck'],
                checkpoint=tiny_teacher[0])
        cfg.update(overrides)
        model = MODELS.build(cfg)
        model.init_weights()
        return model.train()

    return build


@pytest.fixture(scope='session')
def repo_root():
    """The repository root (where configs/ and tools/ are)."""
    return REPO_ROOT


@pytest.fixture(scope='session')
def digits_disco_config():
    """Path of the digits DisCo config."""
    return DIGITS_DISCO_CONFIG


def _free_port() -> int:
    """Returns a TCP port that is free on this machine right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def find_free_port():
    """Returns a function giving a TCP port that is free right now."""
    return _free_port


def _run_tool(args, timeout=300, returncode=0, **env):
    """Runs a command from the repository root with disco_mm importable.

    Args:
        args (list[str]): The command, e.g. ``[sys.executable, 'tools/...']``.
        timeout (int): Seconds before the command is killed. Defaults to 300.
        returncode (int): The exit status the command must end with, e.g.
            ``-9`` for a process killed by SIGKILL. Defaults to 0.
        **env: Extra environment variables.

    Returns:
        str: stdout and stderr of the command.

    Raises:
        AssertionError: The command ended with another status; the message
            holds its output.
    """
    python_path = os.pathsep.join(
        [REPO_ROOT, *filter(None, [env.pop('PYTHONPATH', None)])])
    # Shell tools call `python`: the one running the tests, as in an
    # activated environment.
    search_path = os.pathsep.join(
        [osp.dirname(sys.executable), os.environ.get('PATH', '')])
    result = subprocess.run(
        args,
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=python_path, PATH=search_path,
                 **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout)
    assert result.returncode == returncode, result.stdout[-6000:]
    return result.stdout


class Messages(logging.Handler):
    """Keeps the messages of the records it handles."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def logged():
    """The messages logged to mmengine's current logger during a test."""
    handler = Messages()
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield handler.messages
    logger.removeHandler(handler)


class ModuleTempPaths:
    """Directories made by ``tmp_path_factory`` and removed together.

    Args:
        factory (pytest.TempPathFactory): The session's factory.
    """

    def __init__(self, factory):
        self.factory = factory
        self.made = []

    def mktemp(self, name: str):
        """A new directory (see ``tmp_path_factory.mktemp``)."""
        path = self.factory.mktemp(name)
        self.made.append(path)
        return path

    def remove_all(self):
        """Removes every directory made so far."""
        for path in self.made:
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='module')
def module_tmp_path_factory(tmp_path_factory):
    """``tmp_path_factory`` whose directories go when the module's tests end.

    The modules that write checkpoints and teacher files of real sizes use
    it: kept to the end of the session, they would fill tens of GiB.
    """
    paths = ModuleTempPaths(tmp_path_factory)
    yield paths
    paths.remove_all()


@pytest.fixture(scope='session')
def run_tool():
    """Returns :func:`_run_tool`: runs a command from the repository root."""
    return _run_tool


@pytest.fixture(scope='session')
def config_with_hooks(tmp_path_factory):
    """Returns a function writing a digits DisCo config with test hooks.

    The function takes a name and the hooks of
    ``tests/test_tools/fault_injection.py`` (as config dicts) and returns
    the config's path; the tool must run with ``tests/test_tools`` on its
    ``PYTHONPATH``.
    """
    folder = tmp_path_factory.mktemp('configs_with_hooks')

    def write(name, hooks):
        config = folder / f'{name}.py'
        config.write_text(
            f'_base_ = {DIGITS_DISCO_CONFIG!r}\n'
            "custom_imports = dict(imports=['disco_mm', 'fault_injection'], "
            'allow_failed_imports=False)\n'
            f'custom_hooks = {list(hooks)!r}\n')
        return str(config)

    return write


@pytest.fixture(scope='session')
def small_run_options():
    """--cfg-options that shrink a digits run to 2 iterations per epoch."""
    return list(SMALL_RUN_OPTIONS)


@pytest.fixture(scope='session')
def digits_teacher(tmp_path_factory, make_teacher_checkpoint):
    """A random teacher checkpoint for the digits DisCo config.

    Returns:
        tuple: Its path and the state dict it holds.
    """
    teacher_cfg = Config.fromfile(DIGITS_DISCO_CONFIG).model.teacher
    path = str(tmp_path_factory.mktemp('digits_teacher') / 'teacher.pth')
    state = make_teacher_checkpoint(
        path,
        backbone=teacher_cfg.backbone.to_dict(),
        neck=teacher_cfg.neck.to_dict())
    return path, state


@pytest.fixture(scope='session')
def digits_run(tmp_path_factory, digits_teacher):
    """Trains the digits DisCo config for 2 iterations with tools/train.py.

    Returns:
        dict: ``work_dir``, ``checkpoint`` (epoch_1.pth) and the run's
        ``log``.
    """
    work_dir = str(tmp_path_factory.mktemp('digits_run') / 'work_dir')
    log = _run_tool([
        sys.executable, 'tools/train.py', DIGITS_DISCO_CONFIG, '--work-dir',
        work_dir, '--cfg-options',
        f'model.teacher.checkpoint={digits_teacher[0]}',
        'train_cfg.max_epochs=1', *SMALL_RUN_OPTIONS
    ])
    return dict(
        work_dir=work_dir,
        checkpoint=osp.join(work_dir, 'epoch_1.pth'),
        log=log)


def _import_tool(path: str):
    """Imports a tool as a module.

    Args:
        path (str): The tool's path under ``tools/``, e.g.
            ``'analysis_tools/knn_eval.py'``.

    Returns:
        module: The tool, its ``main`` not run.
    """
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0],
        osp.join(REPO_ROOT, 'tools', path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope='session')
def import_tool():
    """Returns :func:`_import_tool`: imports ``tools/<path>`` as a module."""
    return _import_tool


@pytest.fixture(scope='session')
def load_analysis_tool():
    """Returns a function importing ``tools/analysis_tools/<name>.py``."""
    return lambda name: _import_tool(f'analysis_tools/{name}.py')
