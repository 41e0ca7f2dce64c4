"""Folding a frozen network's BatchNorm layers into its convolutions."""
import copy
from typing import List, Optional, Tuple

import torch
from torch import nn


def conv_batch_norm_pairs(network: nn.Module,
                          images: torch.Tensor) -> List[Tuple[str, str]]:
    """Finds each BatchNorm that normalises a convolution's output.

    One pass over ``images`` records which ``nn.BatchNorm2d`` in eval mode
    receives the very tensor an ``nn.Conv2d`` returned. A layer that runs
    more than once in the pass is left out.

    Args:
        network (nn.Module): A network in eval mode.
        images (torch.Tensor): Images it accepts, NxCxHxW.

    Returns:
        list[tuple[str, str]]: The (convolution, BatchNorm) module names.
    """
    names = {module: name for name, module in network.named_modules()}
    producers, calls, pairs = {}, {}, []

    def conv_done(module, inputs, output):
        calls[module] = calls.get(module, 0) + 1
        producers[id(output)] = (module, output)

    def norm_starts(module, inputs):
        calls[module] = calls.get(module, 0) + 1
        producer = producers.get(id(inputs[0]))
        if producer is not None and producer[1] is inputs[0]:
            pairs.append((producer[0], module))

    handles = []
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_done))
        elif type(module) is nn.BatchNorm2d and not module.training:
            handles.append(module.register_forward_pre_hook(norm_starts))
    try:
        with torch.no_grad():
            network(images)
    finally:
        for handle in handles:
            handle.remove()
    return [(names[conv], names[norm]) for conv, norm in pairs
            if calls[conv] == 1 and calls[norm] == 1]


def fold_into_conv(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> None:
    """Makes ``conv`` compute ``norm(conv(x))`` with eval statistics.

    ``norm(y) = (y - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)``
    per channel, so the convolution's weight is scaled by ``s`` and its bias
    becomes ``(bias - mean) * s + beta``. Computed in float64.
    """
    scale = norm.weight.double() / torch.sqrt(norm.running_var.double() +
                                              norm.eps)
    bias = (
        conv.bias.double()
        if conv.bias is not None else torch.zeros_like(scale))
    folded_bias = (bias - norm.running_mean.double()) * scale + norm.bias
    weight = conv.weight.double() * scale.reshape(
        -1, *[1] * (conv.weight.dim() - 1))
    conv.weight.data = weight.to(conv.weight.dtype)
    conv.bias = nn.Parameter(
        folded_bias.to(conv.weight.dtype), requires_grad=False)


def folded_batch_norms(network: nn.Module,
                       images: torch.Tensor,
                       rtol: float = 1e-4) -> Optional[nn.Module]:
    """A copy of a frozen network with its BatchNorm folded into its convs.

    Every ``nn.BatchNorm2d`` in eval mode that takes a convolution's output
    (:func:`conv_batch_norm_pairs`) is folded into that convolution
    (:func:`fold_into_conv`) and replaced by ``nn.Identity``: the copy
    computes the same function, up to float rounding, without the
    BatchNorm passes. The copy's outputs on ``images`` are checked against
    the network's; a convolution whose output is used by more than its
    BatchNorm would show there.

    Args:
        network (nn.Module): A network in eval mode, float32 or float64.
        images (torch.Tensor): Images it accepts, NxCxHxW, for the check.
        rtol (float): Largest difference of the outputs, relative to the
            largest output. Defaults to 1e-4.

    Returns:
        nn.Module or None: The folded copy; None where nothing folds or
        the copy computes another function.
    """
    # No probe pass without a BatchNorm to fold: a ViT may take one size.
    if not any(
            type(module) is nn.BatchNorm2d and not module.training
            for module in network.modules()):
        return None
    pairs = conv_batch_norm_pairs(network, images)
    if not pairs:
        return None
    folded = copy.deepcopy(network)
    for conv_name, norm_name in pairs:
        fold_into_conv(
            folded.get_submodule(conv_name), folded.get_submodule(norm_name))
        parent, _, child = norm_name.rpartition('.')
        setattr(folded.get_submodule(parent), child, nn.Identity())
    with torch.no_grad():
        expected = torch.cat(
            [out.flatten() for out in _outputs(network(images))])
        actual = torch.cat([out.flatten() for out in _outputs(folded(images))])
    if (actual - expected).abs().max() > rtol * expected.abs().max():
        return None
    return folded


def _outputs(result) -> List[torch.Tensor]:
    """The tensors of a network's output: one, or a tuple or list of them."""
    return list(result) if isinstance(result, (tuple, list)) else [result]
