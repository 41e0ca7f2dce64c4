"""Converts a facebookresearch/swav checkpoint into a disco_mm teacher.

Reads the raw state dict of ``swav_800ep_pretrain.pth.tar`` (ResNet-50) or
``swav_RN50w2_400ep_pretrain.pth.tar`` (ResNet-50w2)-like files: ``module.*``
becomes ``backbone.*``, the projection head ``projection_head.{0,1,3}``
(Linear, BatchNorm1d, Linear) becomes ``neck.mlp.{0,1,3}`` of
``BatchNormMLPNeck``; the prototypes are dropped.

Example:
    python tools/model_converters/swav2disco_mm.py \\
        swav_RN50w2_400ep_pretrain.pth.tar checkpoints/swav_r50w2_teacher.pth
"""
from disco_mm.apis import run_teacher_converter


def main(argv=None) -> None:
    """Converts ``src`` into ``dst``."""
    run_teacher_converter(__doc__, 'swav', argv)


if __name__ == '__main__':
    main()
