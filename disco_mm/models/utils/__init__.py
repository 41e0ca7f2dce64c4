from .embedding import (embed_images, embedding_width, feature_width,
                        features_and_patch_tokens, linear_widths,
                        patch_token_width)
from .embedding_queue import EmbeddingQueue
from .momentum_encoder import MomentumEncoder

__all__ = [
    'EmbeddingQueue', 'MomentumEncoder', 'embed_images', 'embedding_width',
    'feature_width', 'features_and_patch_tokens', 'linear_widths',
    'patch_token_width'
]
