"""The queue a MoCo teacher was trained with, read for DisCo's quirk."""
import torch

from disco_mm.checkpoints import read_teacher_queue


def test_official_moco_queue_is_read_one_key_a_row(tmp_path):
    queue = torch.randn(128, 16)  # the official builder: dim x K
    path = tmp_path / 'moco_v2_800ep_pretrain.pth.tar'
    torch.save(
        dict(
            epoch=800,
            arch='resnet50',
            state_dict={
                'module.encoder_q.conv1.weight': torch.randn(2, 3, 1, 1),
                'module.queue': queue,
                'module.queue_ptr': torch.tensor([48]),
            }), path)
    keys, pointer = read_teacher_queue(str(path))
    assert keys.shape == (16, 128) and keys.is_contiguous()
    torch.testing.assert_close(keys[5], queue[:, 5])
    assert pointer == 48
