"""Checkpoint files in and out: every read and write of a ``.pth``.

* ``files.py``: one file loaded with ``weights_only=True``, saved, hashed;
* ``formats.py``: the formats a teacher comes in (mmpretrain, MoCo, SwAV,
  official DisCo, torchvision, timm), detected and read into disco_mm's
  layout; a new format goes here;
* ``transformer_formats.py``: the released self-supervised vision
  transformers (DINO, DINOv2, DINOv3 with its ConvNeXt, MoCo-v3,
  mmpretrain's ViT), with their position embeddings resized as their own
  code does;
* ``teacher.py``: a teacher checkpoint read for :class:`FrozenTeacher` or
  written converted;
* ``student.py``, ``stock_models.py``, ``export.py``: the student of a
  training checkpoint exported to mmpretrain, mmdet, timm or torchvision,
  checked against the target library's stock model;
* ``atomic.py``, ``resume.py``: training checkpoints saved complete with
  their checksums, and the one a resume can trust.

It imports nothing else of disco_mm: the models, the engine, the evaluation
and the tools import it.
"""
from .atomic import complete_checkpoint, remove_checkpoint
from .export import (EXPORT_TARGETS, export_loaded_student,
                     export_student)
from .files import (CheckpointFormatError, file_sha256, load_checkpoint_file,
                    save_checkpoint_file, state_dict_of)
from .formats import FORMATS, detect_format, to_disco_mm
from .resume import checkpoint_problem, newest_intact_checkpoint
from .stock_models import ALLOW_MISMATCH_FLAG, StockModelMismatchError
from .teacher import (convert_teacher_checkpoint, read_teacher_checkpoint,
                      read_teacher_queue)

__all__ = [
    'ALLOW_MISMATCH_FLAG', 'EXPORT_TARGETS', 'FORMATS',
    'CheckpointFormatError', 'StockModelMismatchError', 'checkpoint_problem',
    'complete_checkpoint', 'convert_teacher_checkpoint', 'detect_format',
    'export_loaded_student', 'export_student', 'file_sha256',
    'load_checkpoint_file',
    'newest_intact_checkpoint', 'read_teacher_checkpoint', 'read_teacher_queue',
    'remove_checkpoint',
    'save_checkpoint_file', 'state_dict_of', 'to_disco_mm'
]
