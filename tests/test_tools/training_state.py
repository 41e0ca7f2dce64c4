"""Comparing the training state of two runs' checkpoints."""
import torch


def load(path):
    """Loads a training checkpoint on the CPU."""
    return torch.load(path, map_location='cpu')


def assert_same_training_state(final, reference):
    """Asserts equal iteration and bitwise equal weights and SGD momentum.

    Args:
        final (dict): A resumed run's checkpoint.
        reference (dict): The uninterrupted run's checkpoint.
    """
    assert final['meta']['iter'] == reference['meta']['iter']
    assert final['state_dict'].keys() == reference['state_dict'].keys()
    for key, value in reference['state_dict'].items():
        torch.testing.assert_close(
            final['state_dict'][key], value, rtol=0, atol=0, msg=key)
    momentum = reference['optimizer']['state']
    assert final['optimizer']['state'].keys() == momentum.keys()
    for index, buffers in momentum.items():
        torch.testing.assert_close(
            final['optimizer']['state'][index]['momentum_buffer'],
            buffers['momentum_buffer'],
            rtol=0,
            atol=0)
