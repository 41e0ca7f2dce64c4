"""A deep MLP that predicts a teacher's feature (SimReg's head)."""
from typing import Optional

from mmpretrain.registry import MODELS
from torch import nn

from .batchnorm_mlp_neck import BatchNormMLPNeck


@MODELS.register_module()
class PredictionMLPNeck(BatchNormMLPNeck):
    """Blocks of ``Linear -> BatchNorm1d -> ReLU -> Linear`` on the feature.

    SimReg's prediction head (``num_blocks=2``, hidden width twice the
    backbone's) is a projection block followed by a prediction block::

        C -> 2C -> BN -> ReLU -> C -> 2C -> BN -> ReLU -> D

    four linear layers, with neither BatchNorm nor ReLU between the blocks
    and after the last layer. Every block but the last returns to the
    backbone's width ``in_channels``; the last gives ``out_channels``.
    Block ``i`` is ``mlp[i]``, each laid out as :class:`BatchNormMLPNeck`.

    Args:
        in_channels (int): Width of the backbone feature.
        hid_channels (int): Width inside each block.
        out_channels (int): Width of the prediction (the teacher's).
        num_blocks (int): Number of blocks. Defaults to 2.
        with_avg_pool (bool): Average-pool the feature map first.
            Defaults to True.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 hid_channels: int,
                 out_channels: int,
                 num_blocks: int = 2,
                 with_avg_pool: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        if num_blocks < 1:
            raise ValueError(
                f'num_blocks must be at least 1, got {num_blocks}')
        widths = [in_channels] * num_blocks + [out_channels]
        super().__init__(in_channels, hid_channels, widths[1], with_avg_pool,
                         init_cfg)
        self.mlp = nn.Sequential(self.mlp, *(
            BatchNormMLPNeck(block_in, hid_channels, block_out).mlp
            for block_in, block_out in zip(widths[1:-1], widths[2:])))
