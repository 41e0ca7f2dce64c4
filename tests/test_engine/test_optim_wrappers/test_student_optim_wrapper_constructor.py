"""The optimizer over what trains, without a warning per frozen tensor."""
from mmengine.optim import build_optim_wrapper

OPTIM_WRAPPER = dict(optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
                     paramwise_cfg=dict(norm_decay_mult=0.0,
                                        bias_decay_mult=0.0))


def groups(optim_wrapper):
    """Each parameter group's tensors (by identity) and settings."""
    return [({id(param)
              for param in group['params']}, group['lr'],
             group['weight_decay'])
            for group in optim_wrapper.optimizer.param_groups]


def skipped(messages):
    return [message for message in messages if 'is skipped since' in message]


def test_same_groups_without_the_teachers_warnings(build_tiny, logged):
    model = build_tiny('DisCo')
    default = build_optim_wrapper(model, OPTIM_WRAPPER)
    # mmengine's constructor warns once per tensor of the teacher and of
    # the key encoder
    frozen = [param for param in model.parameters() if not param.requires_grad]
    assert len(skipped(logged)) == len(frozen) > 0
    logged.clear()
    student = build_optim_wrapper(
        model, dict(OPTIM_WRAPPER,
                    constructor='StudentOptimWrapperConstructor'))
    assert skipped(logged) == []
    assert groups(student) == groups(default)
    trained = {
        id(param)
        for param in model.parameters() if param.requires_grad
    }
    assert set().union(*(ids for ids, *_ in groups(student))) == trained


def test_a_frozen_tensor_of_a_training_module_is_still_reported(
        build_tiny, logged):
    model = build_tiny('DisCo')
    model.neck.mlp[0].weight.requires_grad_(False)  # not its bias
    build_optim_wrapper(
        model, dict(OPTIM_WRAPPER,
                    constructor='StudentOptimWrapperConstructor'))
    assert skipped(logged) == [
        'neck.mlp.0.weight is skipped since its requires_grad=False'
    ]
