"""One table of ViT names serves timm -> mmpretrain and back."""
import timm
import torch
from mmpretrain.models import VisionTransformer

from disco_mm.checkpoints.vit_names import vit_names


def test_timm_vit_with_layer_scale_renames_to_mmpretrain_and_back():
    tiny = dict(img_size=32, patch_size=8, depth=2, embed_dim=48, num_heads=3)
    timm_state = timm.create_model(
        'vit_tiny_patch16_224', num_classes=0, init_values=0.1,
        **tiny).state_dict()
    mmpretrain_state = VisionTransformer(
        arch=dict(
            embed_dims=48,
            num_layers=2,
            num_heads=3,
            feedforward_channels=192),
        img_size=32,
        patch_size=8,
        layer_scale_init_value=0.1).state_dict()
    renamed, unknown = vit_names(timm_state, to='mmpretrain')
    assert unknown == []
    assert {key: value.shape for key, value in renamed.items()} == {
        key: value.shape for key, value in mmpretrain_state.items()
    }
    back, unknown = vit_names(renamed, to='timm')
    assert unknown == []
    assert back.keys() == timm_state.keys()
    assert all(torch.equal(back[key], timm_state[key]) for key in back)


def test_tensors_of_no_vit_part_are_named():
    state = {
        'blocks.0.norm1.weight': torch.ones(2),
        'blocks.0.attn.q_norm.weight': torch.ones(2),
        'patch_embed.proj.0.0.weight': torch.ones(2),
    }
    renamed, unknown = vit_names(state, to='mmpretrain')
    assert list(renamed) == ['layers.0.ln1.weight']
    assert unknown == [
        'blocks.0.attn.q_norm.weight', 'patch_embed.proj.0.0.weight'
    ]
