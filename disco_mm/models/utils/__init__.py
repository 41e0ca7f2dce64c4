from .embedding import (embed_images, embedding_width, feature_width,
                        linear_widths)
from .embedding_queue import EmbeddingQueue
from .momentum_encoder import MomentumEncoder

__all__ = [
    'EmbeddingQueue', 'MomentumEncoder', 'embed_images', 'embedding_width',
    'feature_width', 'linear_widths'
]
