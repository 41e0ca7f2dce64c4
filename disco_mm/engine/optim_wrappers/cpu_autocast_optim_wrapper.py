"""Mixed precision for training on CPUs: bfloat16 autocast."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from mmpretrain.registry import OPTIM_WRAPPERS

from ...precision import cpu_has_native_bf16


def amp_optim_wrapper_type(device: str) -> str:
    """Returns the optimizer wrapper that runs mixed precision on a device.

    Args:
        device (str): ``'cuda'`` or ``'cpu'``.

    Returns:
        str: mmengine's ``AmpOptimWrapper`` (fp16 with dynamic loss scaling)
        on GPUs, :class:`CPUAutocastOptimWrapper` (bf16) on CPUs.
    """
    return 'AmpOptimWrapper' if device == 'cuda' else 'CPUAutocastOptimWrapper'


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """Runs the forward pass and loss under CPU autocast in bfloat16.

    Weights, gradients and the optimizer stay in float32; convolutions and
    matrix products of the forward pass (the teacher's too) run in
    bfloat16. bfloat16 has float32's exponent range, so no loss scaling is
    needed. mmengine's ``AmpOptimWrapper`` refuses to run without a GPU.

    Args:
        dtype (str): The autocast type. Defaults to ``'bfloat16'``.
        **kwargs: The arguments of mmengine's ``OptimWrapper``.

    Raises:
        RuntimeError: The CPU has no native bfloat16 instructions (AVX512-BF16
            or AMX), with which autocast would be slower than float32.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        super().__init__(**kwargs)
        if not cpu_has_native_bf16():
            raise RuntimeError(
                'Mixed precision on CPU needs native bfloat16 support '
                '(AVX512-BF16 or AMX), which this CPU lacks: train without '
                '--amp (optim_wrapper.type=OptimWrapper).')
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        """Enters mmengine's context and CPU autocast."""
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield
