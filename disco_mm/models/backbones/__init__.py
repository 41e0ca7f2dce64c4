from .timm_pooled import TimmPooledBackbone

__all__ = ['TimmPooledBackbone']
