"""disco_mm.apis.bingo_bags (build_bingo_bags.py): bags against brute force."""
import numpy as np
import pytest
import torch

from disco_mm.apis import bingo_bags


def brute_force_bags(features, k):
    """Each row's k most cosine-similar other rows, by explicit loops."""
    rows = features.tolist()
    bags = []
    for i, anchor in enumerate(rows):
        scores = []
        for j, other in enumerate(rows):
            if i != j:
                dot = sum(a * b for a, b in zip(anchor, other))
                norms = (sum(a * a for a in anchor) *
                         sum(b * b for b in other))**0.5
                scores.append((dot / norms, j))
        bags.append([j for _, j in sorted(scores, reverse=True)[:k]])
    return np.array(bags)


def test_bags_match_brute_force(monkeypatch):
    # Chunks of 4 rows check the self-exclusion offset between chunks.
    monkeypatch.setattr(bingo_bags, 'CHUNK_SIZE', 4)
    features = torch.randn(11, 5) * torch.rand(11, 1) * 10
    bags = bingo_bags.nearest_neighbour_bags(features, 3)
    assert bags.dtype == np.int64 and bags.shape == (11, 3)
    np.testing.assert_array_equal(bags, brute_force_bags(features, 3))


def test_bag_search_shows_progress(monkeypatch, capsys):
    monkeypatch.setattr(bingo_bags, 'CHUNK_SIZE', 4)
    bingo_bags.nearest_neighbour_bags(torch.randn(11, 5), 3)
    output = capsys.readouterr().out
    assert 'Finding the 3 nearest neighbours of 11 images (3 chunks of 4)' in (
        output)
    # mmengine's bar: count and ETA after each chunk
    assert '0/3, elapsed: 0s, ETA:' in output
    for done in (1, 2, 3):
        assert f'] {done}/3, ' in output
    assert output.count('ETA:') == 4


def test_duplicates_are_neighbours_but_never_the_image_itself():
    features = torch.tensor([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0],
                             [0.0, 1.0]])
    bags = bingo_bags.nearest_neighbour_bags(features, 2)
    for i, bag in enumerate(bags):
        assert i not in bag
    assert set(bags[0]) == {1, 2} and set(bags[2]) == {0, 1}


@pytest.mark.parametrize('k', [0, 4])
def test_bag_size_out_of_range_is_named(k):
    with pytest.raises(ValueError, match=f'bag size k={k}'):
        bingo_bags.nearest_neighbour_bags(torch.randn(4, 3), k)
