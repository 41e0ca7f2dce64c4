"""Converts a facebookresearch/moco checkpoint into a disco_mm teacher.

Reads ``state_dict`` of ``moco_v2_200ep_pretrain.pth.tar``-like files: the
query encoder ``module.encoder_q.*`` (torchvision ResNet names) becomes
``backbone.*``, its projector ``fc.0`` / ``fc.2`` becomes ``neck.mlp.0`` /
``neck.mlp.2`` (mmpretrain's MoCoV2Neck); the key encoder and the queue are
dropped.

Example:
    python tools/model_converters/moco2disco_mm.py \\
        moco_v2_200ep_pretrain.pth.tar checkpoints/mocov2_r50_teacher.pth
"""
from disco_mm.apis import run_teacher_converter


def main(argv=None) -> None:
    """Converts ``src`` into ``dst``."""
    run_teacher_converter(__doc__, 'moco', argv)


if __name__ == '__main__':
    main()
