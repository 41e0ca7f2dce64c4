"""Freed activation memory is reused without new page faults."""
import subprocess
import sys

import pytest

# Allocates, touches and frees 64 MiB (16,384 pages) 16 times and prints
# the page faults of the last time. Kept memory is reused once the heap
# has grown to hold the block among Python's small allocations (after at
# most 10 rounds here). The module is loaded from its file
# alone, without importing (and allocating) all of disco_mm.
PROBE = '''
import importlib.util, resource, sys, torch
spec = importlib.util.spec_from_file_location(
    'cpu_memory', 'disco_mm/apis/cpu_memory.py')
cpu_memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cpu_memory)
if sys.argv[1] == 'keep':
    assert cpu_memory.keep_freed_cpu_memory()
for _ in range(16):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    torch.ones(16 * 2**20).sum()
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
print(faults)
'''


def last_cycle_faults(mode, repo_root):
    output = subprocess.run([sys.executable, '-c', PROBE, mode],
                            cwd=repo_root,
                            check=True,
                            capture_output=True,
                            text=True).stdout
    return int(output.split()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc')
def test_freed_memory_is_reused_without_page_faults(repo_root):
    assert last_cycle_faults('default', repo_root) > 16000
    assert last_cycle_faults('keep', repo_root) < 160
