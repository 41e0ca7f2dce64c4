from .cli import add_runner_args, build_runner, load_config
from .cpu_memory import keep_freed_cpu_memory
from .model_converters import converter_parser, run_teacher_converter
from .progress import (TrainingProgressHook, train_with_progress,
                       with_progress)

__all__ = [
    'TrainingProgressHook', 'add_runner_args', 'build_runner',
    'converter_parser', 'keep_freed_cpu_memory', 'load_config',
    'run_teacher_converter', 'train_with_progress', 'with_progress'
]
