# DisCo: a timm XCiT-Tiny-12/16 student (xcit_tiny_12_p16_224, 6.5M
# parameters, its class token after the class-attention layers a 192-d
# feature) with the widened projector, otherwise as the ViT-Tiny/16 config.
# Set the teacher with --cfg-options model.teacher.checkpoint=PATH.
_base_ = './disco_vit-tiny-p16_mocov2-r50_8xb32-adamw-coslr-200e_in1k.py'

model = dict(backbone=dict(model_name='xcit_tiny_12_p16_224'))
