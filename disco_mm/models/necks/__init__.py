from .batchnorm_mlp_neck import BatchNormMLPNeck

__all__ = ['BatchNormMLPNeck']
