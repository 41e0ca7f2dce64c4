# mmpretrain's runtime with disco_mm's components registered.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['disco_mm'], allow_failed_imports=False)

# Checkpoints that are complete or absent, each with its SHA-256 beside it;
# --resume continues the newest intact one, refuses a changed teacher file
# and applies the config's learning rate (docs/reliability.md).
runner_type = 'ReliableRunner'
# True lets --resume continue with a teacher file other than the one the
# checkpoint was trained with.
allow_teacher_change = False

# A checkpoint per epoch; for iteration checkpoints of long epochs use
#   --cfg-options default_hooks.checkpoint.by_epoch=False
#   default_hooks.checkpoint.interval=1000
# The checkpoint hook saves only finite states and removes an old file only
# after the new one is complete; the last four hooks make a run fail early,
# resume exactly and save on SIGTERM (docs/reliability.md). They are default
# hooks so that a config's own custom_hooks do not drop them.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='SafeCheckpointHook', interval=1, max_keep_ckpts=3),
    exact_resume=dict(type='ExactResumeHook'),
    finite_loss=dict(type='FiniteLossHook'),
    queue_length_check=dict(type='QueueLengthCheckHook'),
    preemption=dict(type='PreemptionHook'),
    # work_dir/first_batch_views.png: the first batch's augmented views;
    # off with --cfg-options default_hooks.first_batch_views=None.
    first_batch_views=dict(type='FirstBatchViewsHook'),
    # work_dir/student_epoch_N_{timm,mmpretrain}.pth: the student backbone in
    # its library's format after the last epoch (and every `interval`
    # epochs, e.g. default_hooks.student_export.interval=10), with the line
    # that loads it in the log; off with default_hooks.student_export=None.
    student_export=dict(type='StudentExportHook', interval=None))

log_processor = dict(window_size=10)
