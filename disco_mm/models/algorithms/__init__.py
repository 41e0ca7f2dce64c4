from .base_moco_student import BaseMoCoStudent
from .bingo import BINGO
from .compress import CompRess
from .disco import DisCo
from .distilled_self_sup import DistilledSelfSup
from .mocov2_student import MoCoV2Student
from .seed import SEED
from .simreg import SimReg

__all__ = [
    'BaseMoCoStudent', 'BINGO', 'CompRess', 'DisCo', 'DistilledSelfSup',
    'MoCoV2Student', 'SEED', 'SimReg'
]
