"""Training checkpoints saved complete, with their checksum beside them."""
import hashlib

import torch

from disco_mm.checkpoints import checkpoint_problem, complete_checkpoint


def test_checksum_is_written_beside_in_sha256sum_format(tmp_path):
    path = str(tmp_path / 'iter_2.pth')
    torch.save({'meta': {'iter': 2}, 'weight': torch.ones(4096)},
               path + '.tmp')
    returned = complete_checkpoint(path + '.tmp', path)
    digest = hashlib.sha256(open(path, 'rb').read()).hexdigest()
    assert returned == digest
    assert (tmp_path / 'iter_2.pth.sha256').read_text() == \
        f'{digest}  iter_2.pth\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        'iter_2.pth', 'iter_2.pth.sha256'
    ]
    assert checkpoint_problem(path) is None
