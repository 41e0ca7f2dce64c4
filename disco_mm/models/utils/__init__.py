from .batch_norm_folding import folded_batch_norms
from .embedding import (embed_images, embedding_width, feature_width,
                        features_and_patch_tokens, linear_widths,
                        patch_token_width)
from .embedding_queue import EmbeddingQueue
from .mixup import mix_within_batch
from .momentum_encoder import MomentumEncoder
from .small_map_conv import SmallMapConv2d, with_small_map_convs

__all__ = [
    'EmbeddingQueue', 'MomentumEncoder', 'SmallMapConv2d', 'embed_images',
    'embedding_width', 'feature_width', 'features_and_patch_tokens',
    'folded_batch_norms', 'linear_widths', 'mix_within_batch',
    'patch_token_width', 'with_small_map_convs'
]
