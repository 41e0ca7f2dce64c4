from .embedding_distill_loss import EmbeddingDistillLoss
from .similarity_distill_loss import SimilarityDistillLoss

__all__ = ['EmbeddingDistillLoss', 'SimilarityDistillLoss']
