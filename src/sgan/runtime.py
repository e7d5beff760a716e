"""Process-wide CPU settings a training process wants: how glibc's malloc treats large blocks."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

# glibc's mallopt() parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
RETAIN_BYTES = 1 << 30


def retain_freed_memory() -> bool:
    """Have glibc keep freed large blocks for reuse instead of handing them back to the kernel.

    Why: glibc serves blocks above its mmap threshold (32 MiB at most) with fresh pages from
    the kernel and unmaps them when freed, so every allocation that large is paid again in
    page faults on zeroed memory. `stacked` allocates 40 MiB activations ([100, 128, 28, 28]
    float32) several times a step; with both thresholds at 1 GiB it has no page faults and
    steps faster (benchmarks/results/ablation.md). Presets with small tensors (`gia`,
    `improved`) already reuse their memory. The cost: the process keeps its peak heap instead
    of shrinking (peak RSS: benchmarks/results/speed.md). The training loop calls it on CPU runs
    only.

    Returns whether the settings took. A no-op off glibc, or with SGAN_RETAIN_FREED_MEMORY=0.
    """
    if os.environ.get("SGAN_RETAIN_FREED_MEMORY", "1") == "0":
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # no libc to load, or one without mallopt (not glibc)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, RETAIN_BYTES)) and bool(mallopt(M_TRIM_THRESHOLD, RETAIN_BYTES))
