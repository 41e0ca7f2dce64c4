from .exact_resume_hook import ExactResumeHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .knn_monitor_hook import KnnMonitorHook
from .queue_length_check_hook import QueueLengthCheckHook

__all__ = [
    'ExactResumeHook', 'FiniteLossHook', 'KnnMonitorHook',
    'NonFiniteLossError', 'QueueLengthCheckHook'
]
