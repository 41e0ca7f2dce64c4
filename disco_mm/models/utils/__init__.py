from .embedding import (embed_images, embedding_width, feature_width,
                        features_and_patch_tokens, linear_widths,
                        patch_token_width)
from .embedding_queue import EmbeddingQueue
from .mixup import mix_within_batch
from .momentum_encoder import MomentumEncoder

__all__ = [
    'EmbeddingQueue', 'MomentumEncoder', 'embed_images', 'embedding_width',
    'feature_width', 'features_and_patch_tokens', 'linear_widths',
    'mix_within_batch', 'patch_token_width'
]
