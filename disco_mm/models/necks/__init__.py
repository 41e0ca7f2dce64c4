from .batchnorm_mlp_neck import BatchNormMLPNeck
from .dino_projector import DINOProjector
from .prediction_mlp_neck import PredictionMLPNeck

__all__ = ['BatchNormMLPNeck', 'DINOProjector', 'PredictionMLPNeck']
