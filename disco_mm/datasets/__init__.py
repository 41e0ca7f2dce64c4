from .checked_custom_dataset import CheckedCustomDataset
from .digits import Digits

__all__ = ['CheckedCustomDataset', 'Digits']
