from .cli import add_runner_args, build_runner, load_config
from .cpu_memory import keep_freed_cpu_memory
from .progress import (TrainingProgressHook, train_with_progress,
                       with_progress)
from .student_export import (EXPORT_TARGETS, StockModelMismatchError,
                             export_student)
from .teacher_conversion import (convert_teacher_checkpoint, converter_parser,
                                 run_teacher_converter, save_checkpoint_file)

__all__ = [
    'EXPORT_TARGETS', 'StockModelMismatchError', 'TrainingProgressHook',
    'add_runner_args', 'build_runner', 'convert_teacher_checkpoint', 'converter_parser',
    'export_student', 'keep_freed_cpu_memory', 'load_config',
    'run_teacher_converter', 'save_checkpoint_file', 'train_with_progress',
    'with_progress'
]
