from .cpu_autocast_optim_wrapper import (CPUAutocastOptimWrapper,
                                         amp_optim_wrapper_type,
                                         cpu_has_native_bf16)
from .student_optim_wrapper_constructor import StudentOptimWrapperConstructor

__all__ = [
    'CPUAutocastOptimWrapper', 'StudentOptimWrapperConstructor',
    'amp_optim_wrapper_type', 'cpu_has_native_bf16'
]
