"""Times the weight gradient of each student convolution in bfloat16 on CPU.

For every convolution of a config's student backbone, at the batch and
image size given, under CPU autocast to bfloat16 (``--amp``): the forward
pass, oneDNN's weight gradient, and the weight gradient as the matrix
product of shifted inputs that
:class:`~disco_mm.models.utils.SmallMapConv2d` computes on output maps of
at most ``SmallMapConv2d.max_output_pixels`` pixels. Layers of the same
geometry are timed once and counted. The last line adds up, per student
pass, what the product saves on the layers that take it (positive: faster
than oneDNN). The product is timed up to four times the largest map that
takes it (it is far slower on larger maps: a ResNet's stem). Set
``model.small_map_convs=False`` where it does not pay.

Example:
    python tools/analysis_tools/benchmark_convs.py \\
        configs/disco/disco_resnet18_mocov2-r50_8xb32-coslr-200e_in1k.py \\
        --batch-size 32 --img-size 112
"""
import argparse
import json
from collections import Counter
from typing import Callable, Dict, List, Tuple

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS
from torch import nn

import disco_mm  # noqa: F401  (registers the components)
from disco_mm.models.utils import SmallMapConv2d
from disco_mm.models.utils.small_map_conv import shifted_product_weight_grad
from step_measures import StepMeter, machine


def parse_args() -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        description='Time bf16 weight gradients of the student convolutions')
    parser.add_argument('config', help='training config')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--img-size', type=int, default=112)
    parser.add_argument('--repeats', type=int, default=12,
                        help='timed calls per layer; the median counts')
    parser.add_argument('--threads', type=int, help='CPU threads')
    parser.add_argument('--out', help='also write the JSON to this file')
    return parser.parse_args()


def conv_geometries(backbone: nn.Module, batch_size: int,
                    img_size: int) -> Counter:
    """Counts the student's convolutions by geometry and input shape."""
    geometries = Counter()

    def record(module, inputs, output):
        geometries[(tuple(inputs[0].shape), module.out_channels,
                    module.kernel_size, module.stride, module.padding,
                    module.dilation)] += 1

    handles = [
        module.register_forward_hook(record)
        for module in backbone.modules() if type(module) is nn.Conv2d
    ]
    with torch.no_grad():
        backbone(torch.zeros(batch_size, 3, img_size, img_size))
    for handle in handles:
        handle.remove()
    return geometries


def median_ms(call: Callable[[], object], repeats: int) -> float:
    """The median time of ``call`` in milliseconds, after two untimed."""
    meter = StepMeter(warmup=2, device='cpu')
    for _ in range(repeats + 2):
        meter.start()
        call()
        meter.stop()
    return 1e3 * meter.row()['median_s']


def time_layer(geometry: Tuple, repeats: int) -> Dict:
    """Times one geometry's forward pass and both weight gradients."""
    shape, out_channels, kernel, stride, padding, dilation = geometry
    inputs = torch.randn(shape).to(
        torch.bfloat16, memory_format=torch.channels_last)
    weight = torch.randn(out_channels, shape[1], *kernel).to(
        torch.bfloat16, memory_format=torch.channels_last)
    output = torch.nn.functional.conv2d(inputs, weight, None, stride,
                                        padding, dilation)
    output_grad = torch.randn_like(output)
    pixels = output.shape[2] * output.shape[3]
    timed_product = pixels <= 4 * SmallMapConv2d.max_output_pixels
    return dict(
        input=list(shape),
        out_channels=out_channels,
        kernel=list(kernel),
        stride=list(stride),
        output_pixels=pixels,
        forward_ms=median_ms(
            lambda: torch.nn.functional.conv2d(inputs, weight, None, stride,
                                               padding, dilation), repeats),
        onednn_weight_grad_ms=median_ms(
            lambda: torch.ops.aten.convolution_backward(
                output_grad, inputs, weight, None, stride, padding, dilation,
                False, [0, 0], 1, [False, True, False]), repeats),
        product_weight_grad_ms=median_ms(
            lambda: shifted_product_weight_grad(output_grad, inputs, kernel,
                                                stride, padding, dilation),
            repeats) if timed_product else None,
        takes_product=pixels <= SmallMapConv2d.max_output_pixels)


def print_table(layers: List[Dict], counts: List[int]) -> None:
    """Prints one row per geometry and the saving per student pass."""
    print(f'{"input":>18} {"out":>5} {"k":>5} {"s":>3} {"n":>3} '
          f'{"fwd ms":>8} {"oneDNN wgrad":>13} {"product wgrad":>14} '
          f'{"used":>8}')
    for layer, count in zip(layers, counts):
        print(f'{"x".join(map(str, layer["input"])):>18} '
              f'{layer["out_channels"]:>5} '
              f'{"x".join(map(str, layer["kernel"])):>5} '
              f'{layer["stride"][0]:>3} {count:>3} '
              f'{layer["forward_ms"]:>8.2f} '
              f'{layer["onednn_weight_grad_ms"]:>13.2f} '
              f'{_ms(layer["product_weight_grad_ms"]):>14} '
              f'{"product" if layer["takes_product"] else "oneDNN":>8}')
    saved = sum(
        count *
        (layer['onednn_weight_grad_ms'] - layer['product_weight_grad_ms'])
        for layer, count in zip(layers, counts) if layer['takes_product'])
    print(f'saved per student pass by the product: {saved:.1f} ms')


def _ms(value) -> str:
    """A time in ms with two decimals, or '-' where not timed."""
    return '-' if value is None else f'{value:.2f}'


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    backbone = MODELS.build(cfg.model.backbone.to_dict())
    backbone.eval()
    print(f'# {machine()}, batch {args.batch_size}, {args.img_size} px, '
          'bfloat16')
    geometries = conv_geometries(backbone, args.batch_size, args.img_size)
    layers = [time_layer(geometry, args.repeats) for geometry in geometries]
    print_table(layers, list(geometries.values()))
    report = dict(
        config=args.config, batch_size=args.batch_size,
        img_size=args.img_size, machine=machine(),
        layers=[dict(layer, count=count)
                for layer, count in zip(layers, geometries.values())])
    if args.out:
        with open(args.out, 'w') as file:
            json.dump(report, file)


if __name__ == '__main__':
    main()
