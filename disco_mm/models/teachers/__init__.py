from .checkpoint_formats import (FORMATS, CheckpointFormatError,
                                 load_checkpoint_file, read_teacher_checkpoint)
from .frozen_teacher import FrozenTeacher, TeacherCheckpointError

__all__ = [
    'FORMATS', 'CheckpointFormatError', 'FrozenTeacher',
    'TeacherCheckpointError', 'load_checkpoint_file', 'read_teacher_checkpoint'
]
