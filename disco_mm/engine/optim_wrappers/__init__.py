from .cpu_autocast_optim_wrapper import (CPUAutocastOptimWrapper,
                                         amp_optim_wrapper_type,
                                         cpu_has_native_bf16)

__all__ = [
    'CPUAutocastOptimWrapper', 'amp_optim_wrapper_type', 'cpu_has_native_bf16'
]
