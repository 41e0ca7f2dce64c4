"""Checking at start-up that the global batch fits the data and the queue."""
from typing import Dict, Optional

import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def queue_lengths(state: Dict[str, torch.Tensor]) -> Dict[str, int]:
    """The length of every queue in a state dict or a model's buffers.

    A queue is an ``EmbeddingQueue``: the buffers ``name.embeddings`` and
    ``name.pointer``. Checkpoints written before queues were modules hold
    the buffer ``name`` next to a pointer ``name_ptr``; the model reads
    them under the new names, so both count as the queue ``name``.

    Args:
        state (dict): Tensors by name.

    Returns:
        dict: Queue name (e.g. ``queue``, ``teacher_bank``) to its number
        of entries.
    """
    lengths = {}
    for key, value in state.items():
        name = key[:-len('.embeddings')]
        if key.endswith('.embeddings') and f'{name}.pointer' in state:
            lengths[name] = value.shape[0]
        elif f'{key}_ptr' in state:
            lengths[key] = value.shape[0]
    return lengths


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

    Models without queues get only the first check.
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
        batch_size = runner.train_dataloader.batch_size
        processes = get_world_size()
        global_batch = batch_size * processes
        for name, length in queue_lengths(dict(model.named_buffers())).items():
            if length % global_batch:
                raise ValueError(
                    f'model.{name}.length ({length}) must be a multiple of '
                    f'the global batch: train_dataloader.batch_size '
                    f'({batch_size}) x {processes} processes = '
                    f'{global_batch}. Change model.{name}.length or '
                    'train_dataloader.batch_size.')

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
        """Refuses queue lengths other than those of the resumed run."""
        buffers = dict(model.named_buffers())
        for name, length in queue_lengths(buffers).items():
            saved = resumed_queues.get(name)
            if saved is not None and saved != length:
                raise ValueError(
                    f'model.{name}.length is {length}, but the checkpoint '
                    f'being resumed holds a queue ({name}) of {saved} keys: '
                    'a resumed run keeps its queue, and mmengine would '
                    'replace it by a new random one. Set '
                    f'model.{name}.length={saved} to resume, or start a new '
                    'run from its weights with load_from=CHECKPOINT instead '
                    'of --resume.')
