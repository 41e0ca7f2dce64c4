"""Checking at start-up that the global batch fits the data and the queue."""
from typing import Dict, Optional

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def queue_lengths(state: Dict[str, torch.Tensor]) -> Dict[str, int]:
    """The length of every queue in a state dict or a model's buffers.

    A queue is a buffer ``name`` next to a pointer ``name_ptr`` (see
    ``BaseMoCoStudent.register_queue``).

    Args:
        state (dict): Tensors by name.

    Returns:
        dict: Queue name to its number of entries.
    """
    return {
        name: value.shape[0]
        for name, value in state.items() if f'{name}_ptr' in state
    }


@HOOKS.register_module()
class QueueLengthCheckHook(Hook):
    """Refuses a global batch the data set or the queue cannot take.

    Checked before the first iteration, with errors that name the fields:

    * the data set must give every process at least one batch per epoch;
      an empty data set, or with ``drop_last=True`` a batch larger than a
      process's share of the data, would train nothing;
    * each iteration enqueues the keys of every process, so a queue must
      hold a whole number of global batches (else the iteration that wraps
      it around fails, hours into a run);
    * a resumed run keeps its queues: a queue length other than the
      checkpoint's (mmengine would silently start a new random queue) is
      refused.

    Models without a ``queue`` buffer get only the first check.
    """

    def __init__(self) -> None:
        self._resumed_queues: Optional[Dict[str, int]] = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Notes the queue lengths of the loaded checkpoint."""
        self._resumed_queues = queue_lengths(checkpoint.get('state_dict', {}))

    def before_train(self, runner) -> None:
        """Raises ValueError naming the fields when the sizes do not fit."""
        self._check_batches_per_epoch(runner.train_dataloader)
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        resumed_queues, self._resumed_queues = self._resumed_queues, None
        if runner.iter > 0 and resumed_queues:
            self._check_resumed_queues(model, resumed_queues)
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

    @staticmethod
    def _check_batches_per_epoch(loader) -> None:
        """Refuses a loader that gives no batch in an epoch."""
        if len(loader) > 0:
            return
        if len(loader.dataset) == 0:
            raise ValueError(
                'The training data set (train_dataloader.dataset) is empty: '
                'nothing would be trained.')
        processes = get_world_size()
        share = len(loader.sampler)
        raise ValueError(
            f'train_dataloader.batch_size ({loader.batch_size}) is larger '
            f'than the {share} images each of the {processes} processes '
            f'gets from the data set of {len(loader.dataset)} images: with '
            'train_dataloader.drop_last=True an epoch has no batch and '
            'nothing would be trained. Set train_dataloader.batch_size to '
            f'at most {share}, or train on more images.')

    @staticmethod
    def _check_resumed_queues(model, resumed_queues: Dict[str, int]) -> None:
        """Refuses queue lengths other than those of the resumed run.

        Every queue of a model is ``model.queue_len`` long.
        """
        buffers = dict(model.named_buffers())
        for name, length in queue_lengths(buffers).items():
            saved = resumed_queues.get(name)
            if saved is not None and saved != length:
                raise ValueError(
                    f'model.queue_len is {length}, but the checkpoint being '
                    f'resumed holds a queue ({name}) of {saved} keys: a '
                    'resumed run keeps its queue, and mmengine would '
                    'replace it by a new random one. Set '
                    f'model.queue_len={saved} to resume, or start a new run '
                    'from its weights with load_from=CHECKPOINT instead of '
                    '--resume.')
