# A frozen DINO XCiT-S12/16 teacher (facebookresearch/dino with
# facebookresearch/xcit's model: 384-d, 12 blocks, 8 heads, 2 class-attention
# blocks) read from its full training checkpoint: the distilled embedding is
# the DINO head's bottleneck (MLP 384-2048-2048-256, GELU), L2-normalised,
# before the prototypes. The student is the MoCo-v2 model of
# ../models/mocov2_resnet50.py with its projector ending at the teacher's
# 256 dimensions (the algorithm's config adds the rest).
# The released dino_xcit_small_12_p16_pretrain_full_checkpoint.pth pickles
# its argparse arguments: make its tensors-only copy once with
# tools/model_converters/to_weights_only.py (see ./dino_vit-small-p16.py).
_base_ = '../models/mocov2_resnet50.py'

# Read by the methods' configs: the teacher's name in the files made
# from it (BINGO's bags) and the width of its pooled backbone feature,
# which a method distils without the projector (teacher neck=None).
teacher_name = 'dino-xcit-small-12-p16'
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
        'dino_xcit_small_12_p16_pretrain_full_checkpoint_weights.pth',
        backbone=dict(
            type='TimmPooledBackbone', model_name='xcit_small_12_p16_224'),
        neck=dict(
            type='DINOProjector',
            in_channels=384,
            hid_channels=2048,
            out_channels=256)))
