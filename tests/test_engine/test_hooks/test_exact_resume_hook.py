"""ExactResumeHook's pieces: random states and skipping trained samples."""
import random

import numpy as np
import torch

from disco_mm.engine.hooks.exact_resume_hook import (SkipFirstSamples,
                                                     random_states,
                                                     set_random_states)


def draws():
    """One number from each generator that training uses."""
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


def test_random_states_continue_where_saved():
    states = random_states()
    expected = draws()
    draws()
    set_random_states(states)
    assert draws() == expected


def test_saved_states_survive_a_weights_only_checkpoint(tmp_path):
    torch.save(dict(random_states=[random_states()]), tmp_path / 'c.pth')
    expected = draws()
    loaded = torch.load(tmp_path / 'c.pth', weights_only=True)
    set_random_states(loaded['random_states'][0])
    assert draws() == expected


def test_skip_first_samples():
    sampler = SkipFirstSamples([5, 3, 9, 1, 7], skip=2)
    assert list(sampler) == [9, 1, 7] and len(sampler) == 3
    assert len(SkipFirstSamples([1, 2], skip=3)) == 0
