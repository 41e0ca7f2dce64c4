from .base_moco_student import BaseMoCoStudent
from .bingo import BINGO
from .disco import DisCo
from .distilled_self_sup import DistilledSelfSup
from .mocov2_student import MoCoV2Student

__all__ = [
    'BaseMoCoStudent', 'BINGO', 'DisCo', 'DistilledSelfSup', 'MoCoV2Student'
]
