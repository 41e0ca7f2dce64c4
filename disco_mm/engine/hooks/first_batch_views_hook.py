"""A picture of the augmented views of a run's first batch."""
import os.path as osp
from typing import List

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


def preprocessed_views(data_preprocessor, data_batch: dict,
                       images: int) -> List[torch.Tensor]:
    """The first images of a batch as the model gets them, de-normalised.

    The batch goes through the model's data preprocessor (channel order,
    normalisation; ``training=False``, so no batch augmentation draws
    random numbers), then the preprocessor's normalisation is undone.

    Args:
        data_preprocessor (nn.Module): The model's data preprocessor.
        data_batch (dict): A batch of the training data loader.
        images (int): How many images of the batch to keep.

    Returns:
        list[torch.Tensor]: One ``BxCxHxW`` tensor of pixel values per view.
    """
    inputs = data_batch['inputs']
    first = dict(
        inputs=([view[:images] for view in inputs]
                if isinstance(inputs, (list, tuple)) else inputs[:images]),
        data_samples=(data_batch.get('data_samples') or [])[:images] or None)
    with torch.no_grad():
        views = data_preprocessor(first, training=False)['inputs']
    if isinstance(views, torch.Tensor):
        views = [views]
    if getattr(data_preprocessor, '_enable_normalize', False):
        views = [
            view * data_preprocessor.std + data_preprocessor.mean
            for view in views
        ]
    return views


@HOOKS.register_module()
class FirstBatchViewsHook(Hook):
    """Saves the augmented views of the first batch as a picture.

    After the first iteration of a run (and of each resume), the main
    process writes ``work_dir/<filename>``: one row per image (the first
    ``max_images`` of the batch), one column per view, de-normalised with
    the data preprocessor's mean and std, so the picture shows what the
    augmentations made of the data before anything is trained. Channels are
    drawn in the order the model gets them, as RGB.

    Args:
        filename (str): The picture's name in the work dir. Defaults to
            ``'first_batch_views.png'``.
        max_images (int): Rows of the picture. Defaults to 8.
    """

    def __init__(self,
                 filename: str = 'first_batch_views.png',
                 max_images: int = 8) -> None:
        if max_images < 1:
            raise ValueError(
                f'max_images must be at least 1, got {max_images}: set '
                'default_hooks.first_batch_views.max_images.')
        self.filename = filename
        self.max_images = max_images
        self.pending = False

    def before_train(self, runner) -> None:
        """Asks for the picture of this run's first batch."""
        self.pending = is_main_process()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        """Writes the picture of the first batch.

        After the step, not before it: the progress bar counts the time
        from the end of an iteration's hooks to the start of the next
        one's as waiting for data.
        """
        if not self.pending:
            return
        self.pending = False
        from ...evaluation.pictures import save_view_grid
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        path = osp.join(runner.work_dir, self.filename)
        save_view_grid(
            preprocessed_views(model.data_preprocessor, data_batch,
                               self.max_images), path)
        runner.logger.info(f'Augmented views of the first batch: {path}')
