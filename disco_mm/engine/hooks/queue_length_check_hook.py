"""Checking at start-up that the queue takes whole global batches."""
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class QueueLengthCheckHook(Hook):
    """Refuses a queue length that is no multiple of the global batch.

    Each iteration enqueues the keys of every process; a queue that does
    not hold a whole number of global batches would fail at the iteration
    that wraps it around, hours into a run. This hook checks before the
    first iteration. Models without a ``queue`` buffer are left alone.
    """

    def before_train(self, runner) -> None:
        """Raises ValueError naming the fields when the sizes do not fit."""
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        queue = getattr(model, 'queue', None)
        if queue is None:
            return
        batch_size = runner.train_dataloader.batch_size
        processes = get_world_size()
        global_batch = batch_size * processes
        if queue.shape[0] % global_batch:
            raise ValueError(
                f'model.queue_len ({queue.shape[0]}) must be a multiple of '
                f'the global batch: train_dataloader.batch_size '
                f'({batch_size}) x {processes} processes = {global_batch}. '
                'Change model.queue_len or train_dataloader.batch_size.')
