"""Converts a timm model's state dict into a disco_mm teacher.

The state dict becomes ``backbone.model.*`` for a ``TimmPooledBackbone``
with the same ``model_name``; the classifier (timm's
``pretrained_cfg['classifier']`` of ``--model-name``) is dropped. Without
``--projector`` configure the teacher with ``neck=None`` (pooled feature).

Example:
    python tools/model_converters/timm2disco_mm.py \\
        efficientnet_b0.pth checkpoints/effb0_teacher.pth \\
        --model-name efficientnet_b0
"""
import timm

from disco_mm.apis import converter_parser
from disco_mm.checkpoints import convert_teacher_checkpoint


def main(argv=None) -> None:
    """Converts ``src`` (and the projector) into ``dst``."""
    parser = converter_parser(__doc__)
    parser.add_argument(
        '--model-name', required=True, help='the timm model, e.g. resnet50')
    parser.add_argument(
        '--projector',
        help='a file with the projector: neck.* keys or the projector '
        "module's own state dict (mlp.0.weight, ...)")
    args = parser.parse_args(argv)
    if not timm.is_model(args.model_name):
        parser.error(f'timm has no model named {args.model_name!r}')
    weights, _ = convert_teacher_checkpoint(
        args.src,
        args.dst,
        'timm',
        args.projector,
        classifier=timm.get_pretrained_cfg(args.model_name).classifier)
    print(f'{args.dst}: {len(weights)} tensors of timm {args.model_name}')


if __name__ == '__main__':
    main()
