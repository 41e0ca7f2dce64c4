"""Extracts the teacher or the student of an official DisCo checkpoint.

The official code (Yuting-Gao/DisCo-pytorch) saves the whole wrapper:
the student at ``module.encoder_q.*``, its momentum copy, two copies of the
teacher at ``module.teacher_encoder_{q,k}.*`` and the queue.

* ``--part teacher``: ``module.teacher_encoder_q.*`` becomes ``backbone.*``
  and its projector ``neck.mlp.*`` (MoCo teachers: ``fc``; SwAV teachers:
  ``projection_head``), a teacher checkpoint for ``FrozenTeacher``.
* ``--part student``: ``module.encoder_q.*`` becomes ``backbone.*`` (a
  torchvision ResNet student, projector at ``fc``) or ``backbone.model.*``
  (a timm EfficientNet / MobileNetV3 student for ``TimmPooledBackbone``,
  projector at ``classifier``), projector ``neck.mlp.*``; export it further
  with ``tools/model_converters/extract_student.py``.

Example:
    python tools/model_converters/disco_official2disco_mm.py \\
        ResNet50-ResNet18-checkpoint_0199.pth.tar disco_r18.pth --part student
"""
from disco_mm.apis import converter_parser
from disco_mm.checkpoints import convert_teacher_checkpoint


def main(argv=None) -> None:
    """Converts the chosen part of ``src`` into ``dst``."""
    parser = converter_parser(__doc__)
    parser.add_argument(
        '--part',
        choices=['teacher', 'student'],
        default='teacher',
        help='which network to extract (default: teacher)')
    args = parser.parse_args(argv)
    weights, _ = convert_teacher_checkpoint(
        args.src, args.dst, 'disco_official', part=args.part)
    print(f'{args.dst}: {len(weights)} tensors of the DisCo {args.part}')


if __name__ == '__main__':
    main()
