"""Formatting shared by disco_mm's error and log messages."""
from typing import List

#: How many entries a message lists before summarising the rest.
MAX_LISTED = 20


def listed(entries: List[str]) -> str:
    """Formats entries one per indented line, summarising long lists.

    Args:
        entries (list[str]): Keys, file names, ...

    Returns:
        str: ``'\\n  a\\n  b'``, with ``'... and N more'`` after
        :data:`MAX_LISTED` entries.
    """
    shown = '\n  '.join(entries[:MAX_LISTED])
    more = len(entries) - MAX_LISTED
    return f'\n  {shown}' + (f'\n  ... and {more} more' if more > 0 else '')
