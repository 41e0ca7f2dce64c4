from .embedding_distill_loss import EmbeddingDistillLoss
from .patch_similarity_distill_loss import PatchSimilarityDistillLoss
from .similarity_distill_loss import SimilarityDistillLoss

__all__ = [
    'EmbeddingDistillLoss', 'PatchSimilarityDistillLoss',
    'SimilarityDistillLoss'
]
