"""Keep freed memory in the process while a stage trains on CPU (glibc only).

A CPU training step allocates its activations afresh (a batch-32 step of the default model: hundreds of
MB, in blocks of 1-15 MB). glibc serves blocks that large with mmap, or trims the top of its heap once
they are freed, so a step often gets them back from the kernel as new pages: one page fault and one
zeroed 4 kB page per 4 kB touched. The first writes into each new block (`addmm`'s bias copy, attention
scores, the feed-forward activations) then run at a fraction of memory speed (docs/training-speed.md has
the figures). Raising glibc's mmap and trim thresholds keeps the freed blocks in the heap for the next
step: what jemalloc or tcmalloc, the allocators recommended for PyTorch on CPU, do anyway.

The thresholds stay raised for the rest of the process (glibc cannot report or restore its adaptive
defaults); when the stage ends the cached memory is handed back with `malloc_trim`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import platform
from collections.abc import Iterator

logger = logging.getLogger(__name__)

# mallopt parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# glibc's largest mmap threshold on 64-bit hosts (DEFAULT_MMAP_THRESHOLD_MAX): blocks above it still come
# from mmap, as they must
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: "never trim on free"


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


@contextlib.contextmanager
def reuse_freed_memory() -> Iterator[bool]:
    """While the block runs, freed blocks stay in the process for reuse. Yields whether that could be
    arranged (False off glibc: nothing changes)."""
    libc = _glibc()
    if libc is None:
        logger.debug("reuse_freed_memory: not a glibc process, nothing changed")
        yield False
        return
    applied = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not applied:
        logger.warning("reuse_freed_memory: glibc refused the thresholds; training with its defaults")
    try:
        yield applied
    finally:
        libc.malloc_trim(0)
