"""The MLP of DINO's head, up to its bottleneck."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class DINOProjector(BaseModule):
    """``Linear -> GELU -> (Linear -> GELU) x N -> Linear`` on the feature.

    This is the ``mlp`` of facebookresearch/dino's ``DINOHead`` without
    BatchNorm (its default, and the released ViT and XCiT models'), with
    the same names: for three layers ``mlp.0``, ``mlp.2``, ``mlp.4``. Its
    output is the head's bottleneck (256-d), which DINO L2-normalises before
    the weight-normed prototypes; :class:`FrozenTeacher` normalises it the
    same way, and the prototypes are not part of it.

    Args:
        in_channels (int): Width of the backbone feature (384 for ViT-S).
        hid_channels (int): Width of the hidden layers. Defaults to 2048.
        out_channels (int): Width of the bottleneck. Defaults to 256.
        num_layers (int): Number of linear layers, at least 2. Defaults
            to 3.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int = 2048,
                 out_channels: int = 256,
                 num_layers: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_layers < 2:
            raise ValueError(
                f'DINOProjector needs num_layers >= 2, got {num_layers}: '
                'a single linear layer is not the DINO head of any released '
                'model.')
        widths = [in_channels] + [hid_channels] * (num_layers - 1)
        layers = []
        for width_in, width_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(width_in, width_out), nn.GELU()]
        self.mlp = nn.Sequential(*layers, nn.Linear(hid_channels,
                                                    out_channels))

    def forward(self, inputs: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Projects the backbone's pooled feature.

        Args:
            inputs (tuple[torch.Tensor]): Backbone outputs; the last one is
                used, NxCx1x1 or NxC.

        Returns:
            tuple[torch.Tensor]: One NxD bottleneck, not normalised.
        """
        return (self.mlp(inputs[-1].flatten(1)), )
