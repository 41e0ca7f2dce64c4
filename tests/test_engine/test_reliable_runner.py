"""ReliableRunner: default hooks switched off by name."""
from disco_mm.engine import ReliableRunner


def test_none_leaves_out_any_default_hook():
    # no model or loops needed to register hooks
    runner = ReliableRunner.__new__(ReliableRunner)
    runner._hooks = []
    runner.register_default_hooks(
        dict(
            timer=None,
            first_batch_views=None,
            preemption=dict(type='PreemptionHook')))
    registered = [type(hook).__name__ for hook in runner._hooks]
    assert 'IterTimerHook' not in registered
    assert 'FirstBatchViewsHook' not in registered
    assert {'PreemptionHook', 'LoggerHook', 'CheckpointHook'
            } <= set(registered)
