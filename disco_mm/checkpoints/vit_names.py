"""The names of a vision transformer's tensors in timm and in mmpretrain.

One table serves both ways: reading an mmpretrain ``VisionTransformer``
teacher into a timm model (:mod:`~disco_mm.checkpoints.transformer_formats`)
and exporting a timm ViT student to mmpretrain
(:mod:`~disco_mm.checkpoints.student`).
"""
import re
from typing import List, Optional, Pattern, Tuple

from .files import StateDict

#: Each tensor of a ViT (or module, ending with ``.``: its ``weight`` and
#: ``bias``) by its timm name and its name in mmpretrain's
#: ``VisionTransformer``; ``{i}`` is a block's index.
VIT_PARTS = (
    ('cls_token', 'cls_token'),
    ('pos_embed', 'pos_embed'),
    ('patch_embed.proj.', 'patch_embed.projection.'),
    ('blocks.{i}.norm1.', 'layers.{i}.ln1.'),
    ('blocks.{i}.attn.qkv.', 'layers.{i}.attn.qkv.'),
    ('blocks.{i}.attn.proj.', 'layers.{i}.attn.proj.'),
    ('blocks.{i}.ls1.gamma', 'layers.{i}.attn.gamma1.weight'),
    ('blocks.{i}.norm2.', 'layers.{i}.ln2.'),
    ('blocks.{i}.mlp.fc1.', 'layers.{i}.ffn.layers.0.0.'),
    ('blocks.{i}.mlp.fc2.', 'layers.{i}.ffn.layers.1.'),
    ('blocks.{i}.ls2.gamma', 'layers.{i}.ffn.gamma2.weight'),
    ('norm.', 'ln1.'),
)
def _pattern(name: str) -> Pattern:
    """A name of :data:`VIT_PARTS` as a pattern of whole tensor names."""
    pattern = re.escape(name).replace(r'\{i\}', r'(?P<i>\d+)')
    if name.endswith('.'):
        pattern += r'(?P<tensor>weight|bias)'
    return re.compile(pattern)


#: Per library renamed to, ``(pattern of the other's name, new name)``.
_RULES = {
    'mmpretrain': [(_pattern(timm), mmpretrain)
                   for timm, mmpretrain in VIT_PARTS],
    'timm': [(_pattern(mmpretrain), timm) for timm, mmpretrain in VIT_PARTS],
}


def _vit_name(key: str, library: str) -> Optional[str]:
    """The name of one tensor in ``library``; None for no part of a ViT."""
    for pattern, target in _RULES[library]:
        match = pattern.fullmatch(key)
        if match:
            parts = match.groupdict()
            return (target.replace('{i}', parts.get('i') or '') +
                    (parts.get('tensor') or ''))
    return None


def vit_names(state: StateDict, to: str) -> Tuple[StateDict, List[str]]:
    """Renames a ViT's tensors from one library's names to the other's.

    Args:
        state (dict): A ViT's tensors by timm's names (``to='mmpretrain'``)
            or by mmpretrain's (``to='timm'``), without prefix.
        to (str): ``'timm'`` or ``'mmpretrain'``.

    Returns:
        tuple: The renamed tensors, and the keys that are no part of
        :data:`VIT_PARTS` (left out of them).
    """
    renamed, unknown = {}, []
    for key, value in state.items():
        name = _vit_name(key, to)
        if name is None:
            unknown.append(key)
        else:
            renamed[name] = value
    return renamed, unknown
