"""Number formats a part of a model may run in, and this machine's support.

The frozen teacher may run in bfloat16 (CPUs with native bfloat16
instructions, GPUs) or float16 (GPUs) while the student trains in float32;
``'auto'``, the teacher's default, is bfloat16 where the machine computes it
natively and float32 elsewhere. ``tools/train.py --amp`` runs the student in
mixed precision as well.
"""
import torch

#: The precisions a config may name, and their types.
PRECISIONS = {
    'fp32': torch.float32,
    'bf16': torch.bfloat16,
    'fp16': torch.float16,
}


def cpu_has_native_bf16() -> bool:
    """Tells whether this CPU computes in bfloat16 natively (AVX512-BF16,
    AMX), as oneDNN sees it."""
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()


def auto_precision() -> str:
    """The precision ``'auto'`` stands for on this machine.

    ``'bf16'`` on a GPU with bfloat16 (the model trains there) or, without a
    GPU, on a CPU with native bfloat16 (AVX512-BF16, AMX); ``'fp32'``
    elsewhere, where bfloat16 would be emulated and slower.
    """
    if torch.cuda.is_available():
        return 'bf16' if torch.cuda.is_bf16_supported() else 'fp32'
    return 'bf16' if cpu_has_native_bf16() else 'fp32'


def supported_dtype(precision: str, option: str) -> torch.dtype:
    """Returns the type of a precision this machine computes in natively.

    Args:
        precision (str): ``'auto'`` (see :func:`auto_precision`),
            ``'fp32'``, ``'bf16'`` or ``'fp16'``.
        option (str): The config key that sets it, for the messages.

    Returns:
        torch.dtype: The type.

    Raises:
        ValueError: An unknown precision.
        RuntimeError: Neither the CPU nor a GPU of this machine computes in
            that type natively; the message says which value works.
    """
    if precision == 'auto':
        precision = auto_precision()
    if precision not in PRECISIONS:
        raise ValueError(f'{option}={precision!r} is not a precision: use '
                         f"'auto' or one of {sorted(PRECISIONS)}.")
    gpu = torch.cuda.is_available()
    if precision == 'bf16' and not (cpu_has_native_bf16() or
                                    (gpu and torch.cuda.is_bf16_supported())):
        raise RuntimeError(
            f"{option}='bf16' needs native bfloat16 support (a CPU with "
            'AVX512-BF16 or AMX, or a GPU with bfloat16), which this '
            f"machine lacks: set {option}='fp32'.")
    if precision == 'fp16' and not gpu:
        raise RuntimeError(
            f"{option}='fp16' needs a GPU: CPUs compute float16 "
            f"convolutions slowly or not at all. Set {option}='bf16' on a "
            f"CPU with native bfloat16 (AVX512-BF16 or AMX), else "
            f"{option}='fp32'.")
    return PRECISIONS[precision]
