from .base_distiller import BaseDistiller
from .bingo import BINGO
from .compress import CompRess1q, CompRess2q
from .disco import DisCo
from .distilled_self_sup import DistilledSelfSup
from .global_local_distill import GlobalLocalDistill
from .mocov2_student import MoCoV2Student
from .proteus import Proteus
from .seed import SEED
from .simreg import SimReg

__all__ = [
    'BaseDistiller', 'BINGO', 'CompRess1q', 'CompRess2q', 'DisCo',
    'DistilledSelfSup', 'GlobalLocalDistill', 'MoCoV2Student', 'Proteus',
    'SEED', 'SimReg'
]
