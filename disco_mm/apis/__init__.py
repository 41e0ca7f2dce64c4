from .cli import add_runner_args, load_config
from .student_export import EXPORT_TARGETS, export_student
from .teacher_conversion import (convert_teacher_checkpoint, converter_parser,
                                 run_teacher_converter, save_checkpoint_file)

__all__ = [
    'EXPORT_TARGETS', 'add_runner_args', 'convert_teacher_checkpoint',
    'converter_parser', 'export_student', 'load_config',
    'run_teacher_converter', 'save_checkpoint_file'
]
