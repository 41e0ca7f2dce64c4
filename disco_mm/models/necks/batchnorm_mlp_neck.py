"""A projector with BatchNorm after its hidden layer (SwAV's head)."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS
from torch import nn


@MODELS.register_module()
class BatchNormMLPNeck(BaseModule):
    """``Linear -> BatchNorm1d -> ReLU -> Linear`` on the pooled feature.

    This is the projection head of facebookresearch/swav (hidden 2048 for
    ResNet-50, 8192 for ResNet-50w2), with the same parameter names in
    ``mlp``: ``mlp.0`` (Linear), ``mlp.1`` (BatchNorm1d), ``mlp.3``
    (Linear), so SwAV's ``projection_head.{0,1,3}`` load unchanged.
    mmpretrain's ``SwAVNeck`` normalises differently and does not match.

    Args:
        in_channels (int): Width of the backbone feature.
        hid_channels (int): Width of the hidden layer.
        out_channels (int): Width of the embedding.
        with_avg_pool (bool): Average-pool the feature map first.
            Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 with_avg_pool: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_avg_pool = with_avg_pool
        self.mlp = nn.Sequential(
            nn.Linear(in_channels, hid_channels), nn.BatchNorm1d(hid_channels),
            nn.ReLU(inplace=True), nn.Linear(hid_channels, out_channels))

    def forward(self, inputs: Tuple[torch.Tensor]) -> Tuple[torch.Tensor]:
        """Projects the last feature map of the backbone.

        Args:
            inputs (tuple[torch.Tensor]): Backbone outputs; the last one is
                used, NxCxHxW (or NxC without pooling).

        Returns:
            tuple[torch.Tensor]: One NxD embedding.
        """
        features = inputs[-1]
        if self.with_avg_pool:
            features = features.mean(dim=(2, 3))
        return (self.mlp(features.flatten(1)), )
