"""Converts a torchvision ResNet state dict into a disco_mm teacher.

The state dict (``conv1.*``, ``layer1.*``, ...; timm's ResNets use the same
names) becomes ``backbone.*``; its classifier ``fc`` is dropped. Without
``--projector`` the teacher has no projector: configure it with
``neck=None`` and it distils the pooled backbone feature.

Example:
    python tools/model_converters/torchvision2disco_mm.py \\
        resnet50_ssl.pth checkpoints/r50_teacher.pth [--projector proj.pth]
"""
from disco_mm.apis import converter_parser
from disco_mm.checkpoints import convert_teacher_checkpoint


def main(argv=None) -> None:
    """Converts ``src`` (and the projector) into ``dst``."""
    parser = converter_parser(__doc__)
    parser.add_argument(
        '--projector',
        help='a file with the projector: neck.* keys or the projector '
        "module's own state dict (mlp.0.weight, ...)")
    args = parser.parse_args(argv)
    weights, _ = convert_teacher_checkpoint(args.src, args.dst, 'torchvision',
                                            args.projector)
    print(f'{args.dst}: {len(weights)} tensors of the torchvision ResNet')


if __name__ == '__main__':
    main()
