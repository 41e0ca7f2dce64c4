"""Any timm model as a student backbone in timm's pooled layout."""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS


#: The values of ``TimmPooledBackbone(pooling=...)``.
POOLINGS = (None, 'cls+avgpool')


@MODELS.register_module()
class TimmPooledBackbone(BaseModule):
    """A timm model without its classifier, returning its pooled feature.

    The model is ``timm.create_model(model_name, num_classes=0)``: every layer
    up to the classifier, in timm's order. For MobileNetV3 that order pools
    first and then applies the 960->1280 ``conv_head`` with hard-swish, the
    layout (and parameter count) of the official DisCo students. Weights are
    never downloaded: ``pretrained`` is always False; load weights through
    ``init_cfg=dict(type='Pretrained', ...)``.

    The output is one NxCx1x1 map, so mmpretrain's necks
    (``MoCoV2Neck(with_avg_pool=True)``, ``GlobalAveragePooling``) and heads
    work unchanged. For a vision transformer (ViT, XCiT) timm's pooling is
    its CLS token after the last norm; ``pooling='cls+avgpool'`` gives that
    token followed by the mean of the patch tokens (registers left out), a
    2C-wide feature, as DINO's and DINOv2's linear evaluations use it.

    A model with DINOv3's RoPE (timm's ``*_dinov3`` models) keeps the RoPE
    periods in its state dict: timm computes them from its
    ``rope_temperature`` and leaves them out, while DINOv3's files store the
    periods their model computes with (rounded to bfloat16), which must be
    loaded for the model to compute as the official one.

    Args:
        model_name (str): A timm model name, e.g. ``'efficientnet_b0'``,
            ``'mobilenetv3_large_100'``, ``'vit_small_patch16_224'``.
        pooling (str, optional): None for timm's own pooling, or
            ``'cls+avgpool'`` for a transformer. Defaults to None.
        frozen (bool): Freeze the whole model for a linear probe: no
            parameter gets a gradient, and the model stays in eval mode
            (BatchNorm uses its running statistics and never updates them;
            dropout and stochastic depth are off) even when the classifier
            around it is trained. Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
        **model_kwargs: Further keyword arguments of ``timm.create_model``
            (``drop_rate``, ``drop_path_rate``, ...).
    """

    def __init__(self,
                 model_name: str,
                 pooling: Optional[str] = None,
                 frozen: bool = False,
                 init_cfg: Optional[dict] = None,
                 **model_kwargs) -> None:
        import timm

        super().__init__(init_cfg=init_cfg)
        if not timm.is_model(model_name):
            close = timm.list_models(f'*{model_name.split("_")[0]}*')[:10]
            raise ValueError(
                f'model.backbone.model_name={model_name!r}: timm has no '
                f'model of that name; similar names: {close}. See '
                'timm.list_models().')
        self.model_name = model_name
        self.model = timm.create_model(
            model_name, pretrained=False, num_classes=0, **model_kwargs)
        # timm's num_features is the width before a post-pooling head
        # (MobileNetV3: 960); head_hidden_size is the width it outputs.
        self.num_features = getattr(self.model, 'head_hidden_size',
                                    None) or self.model.num_features
        rope = getattr(self.model, 'rope', None)
        if isinstance(getattr(rope, 'periods', None), torch.Tensor):
            rope.register_buffer('periods', rope.periods, persistent=True)
        if pooling not in POOLINGS:
            raise ValueError(
                f'model.backbone.pooling={pooling!r}: use one of {POOLINGS}.')
        if pooling == 'cls+avgpool':
            if not hasattr(self.model, 'cls_token'):
                raise ValueError(
                    f"model.backbone.pooling='cls+avgpool' needs a vision "
                    f'transformer with a CLS token; {model_name} has none. '
                    'Leave pooling=None for its own pooling.')
            self.num_features *= 2
        self.pooling = pooling
        self.frozen = frozen
        if frozen:
            self.model.requires_grad_(False)
            self.model.eval()

    def train(self, mode: bool = True) -> 'TimmPooledBackbone':
        """Sets the training mode; a frozen model stays in eval mode.

        Args:
            mode (bool): Train mode (True) or eval mode (False). Defaults to
                True.

        Returns:
            TimmPooledBackbone: self.
        """
        super().train(mode)
        if self.frozen:
            self.model.eval()
        return self

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor]:
        """Returns the pooled feature of ``inputs``.

        Args:
            inputs (torch.Tensor): Images, NxCxHxW.

        Returns:
            tuple[torch.Tensor]: One NxCx1x1 tensor (Nx2Cx1x1 with
            ``pooling='cls+avgpool'``).
        """
        if self.pooling == 'cls+avgpool':
            tokens = self.model.forward_features(inputs)
            prefix = getattr(self.model, 'num_prefix_tokens', 1)
            pooled = torch.cat(
                [tokens[:, 0], tokens[:, prefix:].mean(dim=1)], dim=1)
        else:
            pooled = self.model(inputs)
        return (pooled[:, :, None, None], )
