"""Convolutions whose weight gradient on small maps is a matrix product."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

Pair = Tuple[int, int]


class _ShiftedProductConv(torch.autograd.Function):
    """A 2-d convolution (groups 1, no bias) whose weight gradient is
    computed as one batched matrix product, one matrix per kernel tap.

    For kernel tap ``(i, j)`` the gradient is ``dY^T @ X_ij`` where ``dY``
    is the output gradient as a (N*Ho*Wo) x C_out matrix and ``X_ij`` the
    padded input, shifted by the tap and strided, as a (N*Ho*Wo) x C_in
    matrix. The input gradient is oneDNN's.
    """

    @staticmethod
    def forward(ctx, inputs: torch.Tensor, weight: torch.Tensor, stride: Pair,
                padding: Pair, dilation: Pair) -> torch.Tensor:
        ctx.save_for_backward(inputs, weight)
        ctx.geometry = stride, padding, dilation
        return F.conv2d(inputs, weight, None, stride, padding, dilation)

    @staticmethod
    def backward(ctx, output_grad: torch.Tensor):
        inputs, weight = ctx.saved_tensors
        stride, padding, dilation = ctx.geometry
        input_grad = weight_grad = None
        if ctx.needs_input_grad[0]:
            input_grad = torch.ops.aten.convolution_backward(
                output_grad, inputs, weight, None, stride, padding, dilation,
                False, [0, 0], 1, [True, False, False])[0]
        if ctx.needs_input_grad[1]:
            weight_grad = shifted_product_weight_grad(output_grad, inputs,
                                                      weight.shape[2:], stride,
                                                      padding, dilation)
        return input_grad, weight_grad, None, None, None


def shifted_product_weight_grad(output_grad: torch.Tensor,
                                inputs: torch.Tensor, kernel_size: Pair,
                                stride: Pair, padding: Pair,
                                dilation: Pair) -> torch.Tensor:
    """The weight gradient of a 2-d convolution (groups 1).

    Args:
        output_grad (torch.Tensor): N x C_out x Ho x Wo.
        inputs (torch.Tensor): N x C_in x H x W, the convolution's input.
        kernel_size, stride, padding, dilation (tuple[int, int]): The
            convolution's geometry.

    Returns:
        torch.Tensor: C_out x C_in x kh x kw, of the inputs' type.
    """
    out_channels, in_channels = output_grad.shape[1], inputs.shape[1]
    out_height, out_width = output_grad.shape[2:]
    padded = F.pad(inputs, (padding[1], padding[1], padding[0], padding[0]))

    def tap(row: int, column: int) -> torch.Tensor:
        """The inputs kernel tap (row, column) meets, (N*Ho*Wo) x C_in."""
        top, left = row * dilation[0], column * dilation[1]
        window = padded[:, :,
                        top:top + stride[0] * (out_height - 1) + 1:stride[0],
                        left:left + stride[1] * (out_width - 1) + 1:stride[1]]
        return window.permute(0, 2, 3, 1).reshape(-1, in_channels)

    taps = torch.stack([
        tap(row, column) for row in range(kernel_size[0])
        for column in range(kernel_size[1])
    ])
    output_rows = output_grad.permute(0, 2, 3, 1).reshape(-1, out_channels)
    return torch.matmul(output_rows.t(), taps).permute(1, 2, 0).reshape(
        out_channels, in_channels, *kernel_size)


class SmallMapConv2d(nn.Conv2d):
    """``nn.Conv2d`` that trains faster in bfloat16 on CPU on small maps.

    Under CPU autocast to bfloat16 (``--amp``), oneDNN computes the weight
    gradient of a convolution with a small output map (7x7 and less: a
    ResNet's last stages) 2 to 5 times slower than the forward pass. There,
    this layer computes it as a matrix product of shifted inputs
    (:func:`shifted_product_weight_grad`). Everywhere else (float32, a GPU,
    larger maps, no gradient) it is ``nn.Conv2d``. Parameters and
    ``state_dict`` are those of ``nn.Conv2d``.
    """

    #: Output maps of at most this many pixels take the matrix product.
    max_output_pixels = 49

    @classmethod
    def from_conv(cls, conv: nn.Conv2d) -> nn.Conv2d:
        """The same layer, sharing ``conv``'s parameters, where it can
        take the matrix product (groups 1, zero or number padding);
        ``conv`` itself elsewhere."""
        if (type(conv) is not nn.Conv2d or conv.groups != 1
                or conv.padding_mode != 'zeros'
                or isinstance(conv.padding, str)):
            return conv
        layer = cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            bias=conv.bias is not None,
            device='meta')
        layer.weight, layer.bias = conv.weight, conv.bias
        return layer.train(conv.training)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self._takes_product(inputs):
            return super().forward(inputs)
        output = _ShiftedProductConv.apply(
            inputs.to(torch.bfloat16), self.weight.to(torch.bfloat16),
            self.stride, self.padding, self.dilation)
        if self.bias is not None:
            output = output + self.bias.to(torch.bfloat16).reshape(1, -1, 1, 1)
        return output

    def _takes_product(self, inputs: torch.Tensor) -> bool:
        """Whether this call is bfloat16 training on CPU on a small map."""
        if not (inputs.device.type == 'cpu' and torch.is_grad_enabled() and
                self.weight.requires_grad and torch.is_autocast_enabled('cpu')
                and torch.get_autocast_dtype('cpu') == torch.bfloat16):
            return False
        height, width = ((size + 2 * pad - dilation *
                          (kernel - 1) - 1) // stride + 1
                         for size, pad, dilation, kernel, stride in zip(
                             inputs.shape[2:], self.padding, self.dilation,
                             self.kernel_size, self.stride))
        return height * width <= self.max_output_pixels


def with_small_map_convs(network: nn.Module) -> int:
    """Turns every plain ``nn.Conv2d`` of ``network`` into a
    :class:`SmallMapConv2d` sharing its parameters.

    Returns:
        int: How many layers changed.
    """
    changed = 0
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            layer = SmallMapConv2d.from_conv(child) if isinstance(
                child, nn.Conv2d) else child
            if layer is not child:
                setattr(parent, name, layer)
                changed += 1
    return changed
