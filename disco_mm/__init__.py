"""disco_mm: self-supervised distillation of lightweight vision models.

Importing the package applies the fixes of :mod:`disco_mm.compat` and
registers every component into mmpretrain's registries.
"""
from . import compat

compat.apply_all()

from . import checkpoints, datasets, engine, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
