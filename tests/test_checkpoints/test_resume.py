"""The checkpoint a resume continues: intact, newest, found after a copy."""
import os
import shutil
import time

import pytest
import torch

from disco_mm.checkpoints.atomic import complete_checkpoint
from disco_mm.checkpoints.resume import (newest_intact_checkpoint,
                                         read_pointer, write_pointer)
from file_damage import empty, overwrite_4_kib, truncate


def save(folder, name, iteration, age=0):
    """Saves a checkpoint of ``iteration`` as ReliableRunner does."""
    path = str(folder / name)
    torch.save({'meta': {'iter': iteration}, 'weight': torch.ones(4096)},
               path + '.tmp')
    complete_checkpoint(path + '.tmp', path)
    os.utime(path, (time.time() - age, ) * 2)
    return path


@pytest.mark.parametrize('damage, problem', [
    (truncate, 'unreadable'),
    (empty, 'empty (0 bytes)'),
    (overwrite_4_kib, 'was damaged or replaced after it was saved'),
])
def test_damaged_newest_checkpoint_is_passed_over_and_named(
        tmp_path, damage, problem):
    save(tmp_path, 'iter_2.pth', 2)
    save(tmp_path, 'iter_4.pth', 4)
    newest = save(tmp_path, 'iter_6.pth', 6)
    damage(newest)
    write_pointer(str(tmp_path), newest)
    chosen, passed_over = newest_intact_checkpoint(str(tmp_path))
    assert chosen == str(tmp_path / 'iter_4.pth')
    assert [path for path, _ in passed_over] == [newest]
    assert problem in passed_over[0][1]


def test_checkpoint_without_checksum_only_has_to_load(tmp_path):
    torch.save({'meta': {'iter': 3}}, tmp_path / 'iter_3.pth')
    assert newest_intact_checkpoint(str(tmp_path)) == (str(tmp_path /
                                                           'iter_3.pth'), [])


def test_copied_work_dir_resumes_the_highest_iteration(tmp_path):
    old = tmp_path / 'old'
    old.mkdir()
    # iter_18 older on disk than iter_8, as a copy can leave them
    save(old, 'iter_8.pth', 8)
    save(old, 'iter_18.pth', 18, age=3600)
    # what mmengine writes: an absolute path into the old work dir
    (old / 'last_checkpoint').write_text(str(old / 'iter_8.pth'))
    new = tmp_path / 'new'
    shutil.copytree(old, new)
    shutil.rmtree(old)
    assert newest_intact_checkpoint(str(new)) == (str(new / 'iter_18.pth'),
                                                  [])


def test_pointer_is_relative_inside_the_work_dir(tmp_path):
    path = save(tmp_path, 'epoch_3.pth', 30)
    write_pointer(str(tmp_path), path)
    assert (tmp_path / 'last_checkpoint').read_text() == 'epoch_3.pth'
    assert read_pointer(str(tmp_path)) == path
    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    write_pointer(str(outside), path)
    assert (outside / 'last_checkpoint').read_text() == path


def test_pointer_outside_the_work_dir_is_a_candidate(tmp_path):
    out_dir, work_dir = tmp_path / 'out', tmp_path / 'work'
    out_dir.mkdir()
    work_dir.mkdir()
    path = save(out_dir, 'iter_5.pth', 5)
    write_pointer(str(work_dir), path)
    assert newest_intact_checkpoint(str(work_dir)) == (path, [])


@pytest.mark.parametrize('pointer', [None, '', 'iter_6.pth', 'iter_'])
def test_missing_empty_cut_or_dangling_pointer_is_no_obstacle(
        tmp_path, pointer):
    save(tmp_path, 'iter_2.pth', 2)
    save(tmp_path, 'iter_4.pth', 4)
    if pointer is not None:
        (tmp_path / 'last_checkpoint').write_text(
            pointer and str(tmp_path / pointer))
    assert newest_intact_checkpoint(str(tmp_path)) == (str(tmp_path /
                                                           'iter_4.pth'), [])


def test_temporary_files_and_teachers_never_count(tmp_path):
    save(tmp_path, 'iter_2.pth', 2)
    # what a kill while saving iteration 4 leaves, and a teacher file
    (tmp_path / 'iter_4.pth.tmp').write_bytes(b'PK\x03')
    torch.save({'meta': {'iter': 99}}, tmp_path / 'teacher.pth')
    assert newest_intact_checkpoint(str(tmp_path)) == (str(tmp_path /
                                                           'iter_2.pth'), [])


def test_nothing_to_resume(tmp_path):
    assert newest_intact_checkpoint(str(tmp_path)) == (None, [])
