"""The optimizer of a distillation model, built over what trains."""
from typing import List, Optional

from mmengine.optim import DefaultOptimWrapperConstructor
from mmpretrain.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class StudentOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """mmengine's default constructor, which leaves frozen modules out
    silently.

    With a ``paramwise_cfg``, mmengine's constructor skips every parameter
    that does not train with a warning of its own: one line per tensor of
    the frozen teacher and of a key encoder, hundreds for a ViT teacher. A
    module none of whose parameters trains is left out here without one;
    the parameter groups are the same (those tensors never reach them). A
    single frozen parameter of a training module is still reported.
    """

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   is_dcn_module: Optional[bool] = None) -> None:
        """Adds ``module``'s parameter groups unless nothing in it trains.

        Args are those of
        :meth:`mmengine.optim.DefaultOptimWrapperConstructor.add_params`.
        """
        if not any(param.requires_grad for param in module.parameters()):
            return
        super().add_params(params, module, prefix, is_dcn_module)
