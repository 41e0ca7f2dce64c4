from .checked_custom_dataset import CheckedCustomDataset
from .digits import Digits
from .neighbour_bag_dataset import NeighbourBagDataset

__all__ = ['CheckedCustomDataset', 'Digits', 'NeighbourBagDataset']
