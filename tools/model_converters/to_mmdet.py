"""Converts a DisCo ResNet student for mmdet's detectors.

Reads a disco_mm training checkpoint (or a student exported with
``extract_student.py --to mmpretrain``) and writes the student's backbone
by the names of mmdet's ``ResNet`` (``conv1``, ``bn1``, ``layer1`` ...
``layer4``; those of torchvision and mmpretrain) as
``{'meta', 'state_dict'}``, without projector, momentum encoder, queue or
teacher. A Faster R-CNN C4 config loads it into its backbone (``conv1`` to
``layer3``) and its ``ResLayer`` shared head (``layer4``) with
``init_cfg=dict(type='Pretrained', checkpoint=DST)``: see
configs/benchmarks/detection/. Only ResNet students convert, and only those
that mmdet's stock ResNet of their depth loads (``--allow-mismatch`` writes
another width anyway, for a config with the student's ``stem_channels`` and
``base_channels``).

Example:
    python tools/model_converters/to_mmdet.py \\
        work_dirs/disco_r18/epoch_200.pth checkpoints/disco_resnet18_mmdet.pth
"""
from disco_mm.apis import converter_parser
from disco_mm.checkpoints import ALLOW_MISMATCH_FLAG, export_student


def main(argv=None) -> None:
    """Converts the student of ``src`` into ``dst`` for mmdet."""
    parser = converter_parser(__doc__)
    parser.add_argument(
        ALLOW_MISMATCH_FLAG,
        action='store_true',
        help="write the file even if mmdet's stock ResNet cannot load it")
    args = parser.parse_args(argv)
    weights = export_student(
        args.src, args.dst, 'mmdet', allow_mismatch=args.allow_mismatch)
    modules = sorted({key.split('.')[0] for key in weights})
    print(f'{args.dst}: {len(weights)} tensors of {", ".join(modules)} '
          "for mmdet's ResNet and C4 ResLayer")


if __name__ == '__main__':
    main()
