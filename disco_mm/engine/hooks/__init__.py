from .exact_resume_hook import ExactResumeHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .first_batch_views_hook import FirstBatchViewsHook
from .knn_monitor_hook import KnnMonitorHook
from .preemption_hook import Preempted, PreemptionHook
from .queue_length_check_hook import QueueLengthCheckHook
from .safe_checkpoint_hook import NonFiniteStateError, SafeCheckpointHook
from .student_export_hook import StudentExportHook

__all__ = [
    'ExactResumeHook', 'FiniteLossHook', 'FirstBatchViewsHook',
    'KnnMonitorHook',
    'NonFiniteLossError', 'NonFiniteStateError', 'Preempted',
    'PreemptionHook', 'QueueLengthCheckHook', 'SafeCheckpointHook',
    'StudentExportHook'
]
