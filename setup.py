"""Installs disco_mm.

``mmcv-lite`` is required only where no full ``mmcv`` is installed: both
provide the ``mmcv`` module, and installing one over the other breaks it.
"""
import os
import os.path as osp
import subprocess
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Returns the requirement lines of ``requirements/<name>.txt``."""
    with open(osp.join(HERE, 'requirements', f'{name}.txt')) as file:
        lines = (line.split('#')[0].strip() for line in file)
        return [line for line in lines if line]


def full_mmcv_installed():
    """Tells whether the target environment already has a full ``mmcv``.

    pip builds in an isolated environment that hides the target's packages,
    so the target interpreter is asked in a clean subprocess.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ('PYTHONPATH', 'PYTHONNOUSERSITE', 'PYTHONHOME')
    }
    probe = ('import importlib.metadata as m\n'
             'try:\n    m.distribution("mmcv")\nexcept Exception:\n'
             '    raise SystemExit(1)')
    return subprocess.run([sys.executable, '-c', probe],
                          env=env,
                          capture_output=True).returncode == 0


def version():
    """Reads ``__version__`` without importing the package."""
    scope = {}
    with open(osp.join(HERE, 'disco_mm', 'version.py')) as file:
        exec(file.read(), scope)
    return scope['__version__']


install_requires = read_requirements('runtime')
if not full_mmcv_installed():
    install_requires += read_requirements('mminstall')

setup(
    name='disco_mm',
    version=version(),
    description='Self-supervised distillation of lightweight vision models '
    '(DisCo and peers) on mmengine / mmpretrain / timm',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.10',
    packages=find_packages(include=['disco_mm', 'disco_mm.*']),
    install_requires=install_requires,
    extras_require=dict(tests=read_requirements('tests')),
    license='Apache-2.0',
)
