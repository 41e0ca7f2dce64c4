from .batchnorm_mlp_neck import BatchNormMLPNeck
from .prediction_mlp_neck import PredictionMLPNeck

__all__ = ['BatchNormMLPNeck', 'PredictionMLPNeck']
