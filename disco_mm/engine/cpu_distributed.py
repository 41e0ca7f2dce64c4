"""Several training processes on a machine without a GPU.

mmengine's ``init_dist`` always selects a CUDA device, and its DDP wrapper
always passes the process's GPU as ``device_ids``. Without a GPU the
processes of ``tools/dist_train.sh`` (``--launcher pytorch``) join a gloo
process group instead, and DDP wraps the model without device ids. The
:class:`~disco_mm.engine.ReliableRunner` does both; on GPUs it leaves
mmengine's set-up as it is.
"""
import atexit

import torch
import torch.distributed as dist


def joins_cpu_process_group(launcher: str) -> bool:
    """Tells whether a run needs the gloo group of this module.

    Args:
        launcher (str): The job launcher (``'none'``, ``'pytorch'``,
            ``'slurm'``, ``'mpi'``).

    Returns:
        bool: True for a distributed launcher on a machine without a GPU.

    Raises:
        RuntimeError: A launcher other than ``'pytorch'`` without a GPU.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return False
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} needs GPUs; on CPU-only machines start '
            'several processes with tools/dist_train.sh (--launcher pytorch).')
    return True


def join_cpu_process_group() -> None:
    """Joins the launcher's processes in a gloo group, once per process.

    The group is closed when the process exits, after
    :func:`finish_together`.
    """
    if dist.is_initialized():
        return
    dist.init_process_group(backend='gloo')
    atexit.register(close_process_group)


def cpu_model_wrapper_cfg(find_unused_parameters: bool = False) -> dict:
    """Returns the DDP wrapper config for a model on the CPU.

    Args:
        find_unused_parameters (bool): DDP's flag of the same name (the
            config's ``find_unused_parameters``). Defaults to False.

    Returns:
        dict: ``MMDistributedDataParallel`` without device ids.
    """
    return dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=find_unused_parameters)


def finish_together() -> None:
    """Waits until every process of the group has finished its loop.

    Without it, a process that is done (rank 1 after the last epoch) exits
    while process 0 still writes the checkpoint, and gloo's connection
    threads may abort the exiting process ("terminate called without an
    active exception"), failing a finished run.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def close_process_group() -> None:
    """Closes the process group if one is open."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
