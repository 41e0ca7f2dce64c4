# mmpretrain's runtime with disco_mm's components registered.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['disco_mm'], allow_failed_imports=False)

# A checkpoint per epoch; for iteration checkpoints of long epochs use
#   --cfg-options default_hooks.checkpoint.by_epoch=False
#   default_hooks.checkpoint.interval=1000
# The last three hooks make a run fail early and resume exactly
# (docs/reliability.md); they are default hooks so that a config's own
# custom_hooks do not drop them.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    exact_resume=dict(type='ExactResumeHook'),
    finite_loss=dict(type='FiniteLossHook'),
    queue_length_check=dict(type='QueueLengthCheckHook'))

log_processor = dict(window_size=10)
