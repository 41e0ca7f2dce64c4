from .embedding_distill_loss import EmbeddingDistillLoss

__all__ = ['EmbeddingDistillLoss']
