from .base_moco_student import BaseMoCoStudent
from .compress import CompRess
from .disco import DisCo
from .mocov2_student import MoCoV2Student
from .seed import SEED
from .simreg import SimReg

__all__ = [
    'BaseMoCoStudent', 'CompRess', 'DisCo', 'MoCoV2Student', 'SEED', 'SimReg'
]
