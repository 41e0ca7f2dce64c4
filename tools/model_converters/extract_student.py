"""Exports the student backbone of a DisCo training checkpoint.

Only the backbone is written (no projector, momentum encoder, queue or
teacher), for:

* ``--to mmpretrain``: ``{'state_dict': {backbone.*}}``; a linear-eval
  config loads it through its backbone's
  ``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``.
* ``--to mmpretrain-vit``: a timm ViT student (``vit_tiny_patch16_224``,
  ...) by the names of mmpretrain's ``VisionTransformer`` of the same shape
  (``arch='deit-tiny'``, ...; the file's ``meta['stock_model']``), loaded
  the same way; its class-token output is the student's pooled feature.
* ``--to mmdet``: ``{'state_dict': {conv1.*, ..., layer4.*}}`` for
  mmdet's ResNet and C4 shared head (ResNet students; the same as
  ``to_mmdet.py``).
* ``--to timm``: ``timm.create_model(NAME).load_state_dict(sd,
  strict=False)`` misses only the classifier (ResNet students use timm's
  ResNet names).
* ``--to torchvision``: ``torchvision.models.resnet18()`` (or 34, 50, ...)
  misses only ``fc`` (ResNet students).

For every target but mmpretrain the file is checked against the library's
stock model (built without weights): a student it cannot load, e.g. a
ResNet-18 of another width, is refused with the keys and shapes that
differ. ``--allow-mismatch`` writes it anyway, for a model built with the
student's own constructor arguments.

Example:
    python tools/model_converters/extract_student.py \\
        work_dirs/disco_r18/epoch_200.pth disco_r18_backbone.pth --to timm
"""
from disco_mm.apis import converter_parser
from disco_mm.checkpoints import (ALLOW_MISMATCH_FLAG, EXPORT_TARGETS,
                                  export_student)


def main(argv=None) -> None:
    """Exports the student of ``src`` into ``dst``."""
    parser = converter_parser(__doc__)
    parser.add_argument(
        '--to',
        choices=EXPORT_TARGETS,
        default='mmpretrain',
        help='the library that will load the backbone (default: mmpretrain)')
    parser.add_argument(
        '--model-name',
        help='the stock model to check the export against, e.g. '
        'efficientnet_b0 (default: the stock ResNet of a ResNet student, '
        "else model.backbone.model_name of the checkpoint's config)")
    parser.add_argument(
        ALLOW_MISMATCH_FLAG,
        action='store_true',
        help="write the file even if the target library's stock model "
        "cannot load it (for a model built with the student's own "
        'constructor arguments, e.g. another width)')
    args = parser.parse_args(argv)
    weights = export_student(args.src, args.dst, args.to, args.model_name,
                             args.allow_mismatch)
    parameters = sum(value.numel() for key, value in weights.items()
                     if not key.endswith(('running_mean', 'running_var',
                                          'num_batches_tracked')))
    print(f'{args.dst}: {len(weights)} tensors for {args.to}, '
          f'{parameters:,} parameters')


if __name__ == '__main__':
    main()
