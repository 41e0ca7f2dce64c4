"""Mixing each image of a batch with another image of the same batch."""
import torch


def mix_within_batch(images: torch.Tensor) -> torch.Tensor:
    """Returns ``lam * images + (1 - lam) * images[perm]``.

    One ``lam`` is drawn uniformly from [0, 1) for the whole batch and
    ``perm`` is a random permutation of the batch (an image may be paired
    with itself). Both come from torch's global random stream, so a seeded
    run mixes the same way each time. Labels are not mixed: a distilling
    student learns from what the teacher makes of the mixed image.

    Args:
        images (torch.Tensor): Images, NxCxHxW (normalised or not: the mix
            of normalised images is the normalised mix).

    Returns:
        torch.Tensor: The mixed images, of the same shape and type.
    """
    lam = torch.rand(()).item()
    perm = torch.randperm(images.shape[0]).to(images.device)
    return lam * images + (1.0 - lam) * images[perm]
