from .base_moco_student import BaseMoCoStudent
from .disco import DisCo
from .mocov2_student import MoCoV2Student

__all__ = ['BaseMoCoStudent', 'DisCo', 'MoCoV2Student']
