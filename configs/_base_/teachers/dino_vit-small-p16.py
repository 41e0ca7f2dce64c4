# A frozen DINO ViT-S/16 teacher (facebookresearch/dino, 384-d, 12 blocks,
# 6 heads) read from its full training checkpoint: the distilled embedding
# is the DINO head's bottleneck (MLP 384-2048-2048-256, GELU), L2-normalised,
# before the prototypes. The student is the MoCo-v2 model of
# ../models/mocov2_resnet50.py with its projector ending at the teacher's
# 256 dimensions (no head, key encoder or queue: the algorithm's config adds
# them).
# The released dino_deitsmall16_pretrain_full_checkpoint.pth pickles its
# argparse arguments: make its tensors-only copy once with
#   python tools/model_converters/to_weights_only.py \
#       dino_deitsmall16_pretrain_full_checkpoint.pth \
#       checkpoints/dino_deitsmall16_pretrain_full_checkpoint_weights.pth
# To distil the CLS token of the backbone-only dino_deitsmall16_pretrain.pth
# instead: neck=None, and the student's projector ending at 384 (768 with
# backbone.pooling='cls+avgpool'); see docs/teachers.md.
_base_ = '../models/mocov2_resnet50.py'

# Read by the methods' configs: the teacher's name in the files made
# from it (BINGO's bags) and the width of its pooled backbone feature,
# which a method distils without the projector (teacher neck=None).
teacher_name = 'dino-vit-small-p16'
teacher_feature_width = 384

model = dict(
    _delete_=True,
    backbone={{_base_.model.backbone}},
    neck=dict(
        type='MoCoV2Neck',
        in_channels=2048,
        hid_channels=2048,
        out_channels=256,
        with_avg_pool=True),
    teacher=dict(
        type='FrozenTeacher',
        checkpoint='checkpoints/'
        'dino_deitsmall16_pretrain_full_checkpoint_weights.pth',
        backbone=dict(
            type='TimmPooledBackbone', model_name='vit_small_patch16_224'),
        neck=dict(
            type='DINOProjector',
            in_channels=384,
            hid_channels=2048,
            out_channels=256)))
