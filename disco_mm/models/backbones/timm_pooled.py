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

    :meth:`forward_with_patch_tokens` gives the same pooled feature together
    with the tokens of the image's patches from the same pass: a
    transformer's output tokens without its prefix (CLS, register or
    distillation tokens), a CNN's last feature map flattened. A vision
    transformer can also see some of its patches replaced by a mask token
    (iBOT's and DINOv2's masking, see :meth:`forward_with_patch_tokens`).

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
        #: The width of :meth:`forward_with_patch_tokens`'s tokens: timm's
        #: ``num_features``, before any post-pooling head.
        self.patch_token_width = self.model.num_features
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
            pooled = self._pool(self.model.forward_features(inputs))
        else:
            pooled = self.model(inputs)
        return (pooled[:, :, None, None], )

    def forward_with_patch_tokens(
        self,
        inputs: torch.Tensor,
        patch_mask: Optional[torch.Tensor] = None,
        mask_token: Optional[torch.Tensor] = None
    ) -> Tuple[Tuple[torch.Tensor], torch.Tensor, Tuple[int, int]]:
        """Returns the pooled feature and the patch tokens of one pass.

        With ``patch_mask``, the embeddings of the masked patches are
        replaced by ``mask_token`` as the patch embedding gives them, before
        the prefix tokens and the position embedding are added: the patch's
        pixels never reach the network, its position does (iBOT's and
        DINOv2's masking).

        Args:
            inputs (torch.Tensor): Images, NxCxHxW.
            patch_mask (torch.Tensor, optional): NxL booleans, True for a
                patch to mask, the patches row by row; a vision transformer
                only. Defaults to None: no patch is masked.
            mask_token (torch.Tensor, optional): The C-wide embedding that
                replaces a masked patch's (any shape of C elements).
                Required with ``patch_mask``. Defaults to None.

        Returns:
            tuple: The output of :meth:`forward`; the patch tokens, NxLxC'
            with ``C' = patch_token_width`` (a transformer's last tokens
            after its final norm, prefix tokens left out; a CNN's last
            feature map, row by row); and the (height, width) of the grid
            they lie on, with ``height * width = L``.

        Raises:
            ValueError: The tokens do not form a grid of the image's shape,
                or a mask is given for a model without a patch embedding of
                tokens.
        """
        if patch_mask is None:
            features = self.model.forward_features(inputs)
        else:
            features = self._forward_masked(inputs, patch_mask, mask_token)
        if features.dim() == 4:
            tokens = features.flatten(2).transpose(1, 2)
            grid = tuple(features.shape[2:])
        else:
            tokens = features[:, self._num_prefix_tokens():]
            grid = token_grid(tokens.shape[1], inputs.shape[2:])
        if self.pooling == 'cls+avgpool':
            pooled = self._pool(features)
        else:
            pooled = self.model.forward_head(features)
        return (pooled[:, :, None, None], ), tokens, grid

    def _forward_masked(self, inputs: torch.Tensor, patch_mask: torch.Tensor,
                        mask_token: torch.Tensor) -> torch.Tensor:
        """``forward_features`` with masked patches' embeddings replaced.

        The replacement is a forward hook on timm's patch embedding, so the
        model runs its own ``forward_features`` (prefix tokens, position
        embedding, gradient checkpointing) unchanged.
        """
        patch_embed = getattr(self.model, 'patch_embed', None)
        if patch_embed is None or not hasattr(self.model, 'cls_token'):
            raise ValueError(
                f'{self.model_name} has no patch embedding of tokens to '
                'mask: masking patches needs a vision transformer '
                '(model.backbone.model_name, e.g. vit_tiny_patch16_224).')

        def replace_masked(module, args, embeddings):
            mask = patch_mask.reshape(embeddings.shape[:-1] + (1, ))
            return torch.where(mask, mask_token.reshape(-1).to(embeddings),
                               embeddings)

        hook = patch_embed.register_forward_hook(replace_masked)
        try:
            return self.model.forward_features(inputs)
        finally:
            hook.remove()

    def _num_prefix_tokens(self) -> int:
        """The tokens before a transformer's patch tokens (CLS, registers)."""
        return getattr(self.model, 'num_prefix_tokens', 1)

    def _pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """CLS token and mean patch token of a transformer's output tokens."""
        patches = tokens[:, self._num_prefix_tokens():]
        return torch.cat([tokens[:, 0], patches.mean(dim=1)], dim=1)


def token_grid(num_tokens: int,
               image_size: Tuple[int, int]) -> Tuple[int, int]:
    """Returns the grid of square patches that ``num_tokens`` tokens cover.

    Args:
        num_tokens (int): The number of patch tokens.
        image_size (tuple[int, int]): The image's (height, width).

    Returns:
        tuple[int, int]: (rows, columns) of patches.

    Raises:
        ValueError: No grid of the image's aspect ratio has that many
            patches.
    """
    height, width = image_size
    patch_side = (height * width / num_tokens)**0.5
    grid = (round(height / patch_side), round(width / patch_side))
    if grid[0] * grid[1] != num_tokens:
        raise ValueError(
            f'{num_tokens} patch tokens form no grid of square patches over '
            f'an image of {height}x{width} pixels: the backbone pads or '
            'crops the image; give it a size that its patch size divides.')
    return grid
