"""EmbeddingQueue: first in, first out; empty start; one queue per
process."""
import pytest
import torch

from disco_mm.models.utils import EmbeddingQueue
from disco_mm.models.utils import embedding_queue


def test_oldest_batch_is_replaced_first():
    queue = EmbeddingQueue(6, 2, start_empty=True, gather=False)
    batches = [torch.full((2, 2), float(step)) for step in range(1, 5)]
    for batch in batches[:3]:
        queue.enqueue(batch)
    assert torch.equal(queue.embeddings, torch.cat(batches[:3]))
    queue.enqueue(batches[3])  # the fourth batch replaces the first
    assert torch.equal(queue.embeddings,
                       torch.cat([batches[3], batches[1], batches[2]]))
    assert queue.pointer.tolist() == [2]


def test_empty_start_is_zeros_and_default_start_unit_vectors():
    assert torch.equal(
        EmbeddingQueue(4, 3, start_empty=True).embeddings, torch.zeros(4, 3))
    torch.testing.assert_close(
        EmbeddingQueue(4, 3).embeddings.norm(dim=1), torch.ones(4))


def test_empty_rows_are_similarities_of_zero():
    queue = EmbeddingQueue(4, 2, start_empty=True, gather=False)
    queue.enqueue(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    similarities = queue.similarities(torch.tensor([[0.6, 0.8]]))
    assert torch.equal(similarities, torch.tensor([[0.6, 0.8, 0.0, 0.0]]))


@pytest.mark.parametrize('gather, rows', [(True, 4), (False, 2)])
def test_gather_enqueues_every_process_and_off_only_this_one(
        monkeypatch, gather, rows):
    # two processes: this one's batch and the other's (its + 10)
    monkeypatch.setattr(embedding_queue, 'all_gather',
                        lambda tensor: [tensor, tensor + 10])
    queue = EmbeddingQueue(8, 2, start_empty=True, gather=gather)
    batch = torch.ones(2, 2)
    queue.enqueue(batch)
    assert queue.pointer.tolist() == [rows]
    expected = torch.cat([batch, batch + 10])[:rows]
    assert torch.equal(queue.embeddings[:rows], expected)
    assert not queue.embeddings[rows:].any()


def test_batch_not_dividing_the_length_names_the_batch_per_process():
    queue = EmbeddingQueue(5, 2, gather=False)
    with pytest.raises(ValueError, match=r'multiple of the batch per '
                       r'process \(2\)'):
        queue.enqueue(torch.ones(2, 2))
