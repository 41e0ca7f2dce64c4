"""A hook for the train.py tests: records the model as training starts.

It is imported by the training subprocess through ``custom_imports``.
"""
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import HOOKS


@HOOKS.register_module()
class ModelStateProbe(Hook):
    """Saves the model's state dict and teacher when training starts.

    ``before_train`` runs after the Runner has initialised the weights and
    loaded or resumed a checkpoint, right before the first iteration.

    Args:
        path (str): Where to ``torch.save`` the states.
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def before_train(self, runner) -> None:
        """Writes ``{'model': state dict, 'teacher': teacher weights}``."""
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        teacher = {
            f'{name}.{key}': value.clone()
            for name in ('backbone', 'neck')
            for key, value in getattr(model.teacher,
                                      name).state_dict().items()
        }
        torch.save(
            dict(
                model={
                    k: v.clone()
                    for k, v in model.state_dict().items()
                },
                teacher=teacher,
                iter=runner.iter,
                epoch=runner.epoch), self.path)
