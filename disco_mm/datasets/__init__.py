from .checked_custom_dataset import CheckedCustomDataset
from .data_root import check_train_data_root
from .digits import Digits
from .neighbour_bag_dataset import NeighbourBagDataset

__all__ = [
    'CheckedCustomDataset', 'Digits', 'NeighbourBagDataset',
    'check_train_data_root'
]
