"""`--nproc N`: run the same command under torchrun, one process per CPU core group or GPU (DDP).

Multi-node runs call torchrun directly with the same embedkit command line, e.g. on every node:
    torchrun --nnodes 2 --nproc-per-node 8 --rdzv-backend c10d --rdzv-endpoint HOST:29500 \\
        -m embedkit train RECIPE --out DIR
"""

from __future__ import annotations

import os
import subprocess
import sys

from embedkit.errors import EmbedkitError, UserError


def under_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1


def relaunch(nproc: int, argv: list[str]) -> int:
    """Run `embedkit <argv>` as `nproc` DDP processes on this machine; returns the exit code."""
    if nproc < 1:
        raise UserError(f"--nproc {nproc}: must be at least 1")
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "embedkit",
        *argv,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(max(1, _cores() // nproc)))}
    try:
        return subprocess.run(command, env=env, check=False).returncode
    except OSError as exc:
        raise EmbedkitError(f"could not start torchrun: {exc}") from None


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
