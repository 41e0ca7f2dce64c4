"""Ways a file on disk gets damaged: a cut, nothing, bytes overwritten."""
import os


def truncate(path):
    """Cuts the file to half its size (a copy or write stopped midway)."""
    with open(path, 'r+b') as file:
        file.truncate(os.path.getsize(path) // 2)


def empty(path):
    """Leaves the file with zero bytes."""
    open(path, 'wb').close()


def overwrite_4_kib(path):
    """Overwrites 4 KiB in the middle with random bytes (bit rot)."""
    with open(path, 'r+b') as file:
        file.seek(os.path.getsize(path) // 2)
        file.write(os.urandom(4096))
