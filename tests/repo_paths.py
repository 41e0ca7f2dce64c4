"""Where the repository and mmpretrain's own tools are, for every test."""
import importlib.util
import os.path as osp

#: The repository root (configs/, tools/, docs/).
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
#: mmpretrain's own tools/ (``train.py``, ``test.py``), as the installed
#: package ships them for ``mim train mmpretrain``.
MMPRETRAIN_TOOLS = osp.join(
    osp.dirname(importlib.util.find_spec('mmpretrain').origin), '.mim',
    'tools')
