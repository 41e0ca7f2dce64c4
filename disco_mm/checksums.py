"""File checksums shared by checkpoints and teachers."""
import hashlib

#: Bytes read at a time while hashing.
HASH_CHUNK_BYTES = 1 << 20


def file_sha256(path: str) -> str:
    """Returns the SHA-256 of a file as 64 hex digits.

    Args:
        path (str): The file.

    Returns:
        str: Its SHA-256, as ``sha256sum`` prints it.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as file:
        for chunk in iter(lambda: file.read(HASH_CHUNK_BYTES), b''):
            digest.update(chunk)
    return digest.hexdigest()
