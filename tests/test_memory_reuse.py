"""compute.reuse_freed_memory: a step's worth of freed activations comes back without new page faults."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)

# A fresh interpreter: glibc's thresholds are process state, and another test may have raised them here.
# Each round allocates what one training step holds for its backward pass (24 blocks of 8 MB, the size
# of a batch-32 step's attention scores), writes every page, and frees it all.
PROBE = textwrap.dedent(
    """
    import ctypes, ctypes.util, json, resource, torch
    from trainers.memory_reuse import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, reuse_freed_memory

    def faults(rounds):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(rounds):
            blocks = [torch.ones(2 * 1024 * 1024) for _ in range(24)]
            del blocks
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    # glibc's static defaults (128 kB each); its adaptive thresholds make the baseline depend on history
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.mallopt(M_MMAP_THRESHOLD, 128 * 1024)
    libc.mallopt(M_TRIM_THRESHOLD, 128 * 1024)
    faults(1)
    default = faults(4)
    with reuse_freed_memory() as applied:
        faults(1)
        reused = faults(4)
    print(json.dumps({"default": default, "reused": reused, "applied": applied}))
    """
)


def test_freed_activations_are_reused_without_page_faults():
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    counts = json.loads(out.strip().splitlines()[-1])
    pages = 4 * 24 * 8 * 1024 * 1024 // 4096  # of 4 rounds
    assert counts["applied"]
    # with glibc's static defaults every block goes back to the kernel when freed: faulted in again each round
    assert counts["default"] > pages // 2, counts
    assert counts["reused"] < pages // 10, counts  # at most a few blocks taken anew
