"""CPU settings a training process wants: how glibc's malloc treats large blocks, and how many
torch threads to run when other processes share the cores."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import statistics

import torch

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
    steps faster (benchmarks/results/microbench.md). Presets with small tensors (`gia`,
    `improved`) already reuse their memory. The cost: the process keeps its peak heap instead
    of shrinking (peak RSS: benchmarks/results/microbench.md). The training loop calls it on CPU runs
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


class ThreadTuner:
    """Torch threads chosen by measured speed, for runs that leave `--threads` to sgan.

    Why: torch's CPU threads meet at a barrier after every operator, so when another process
    holds a core, a run with a thread per core waits out that thread's scheduler slices at each
    barrier and runs several times slower than with fewer threads (benchmarks/results/
    threads_under_load.md). Every `period` steps, and whenever the step time rises by `slack`
    over the last measured, it trains `probe` steps at each candidate count (all cores, half,
    one) and keeps the fastest. The steps are real training steps; only their thread count
    differs, which changes the rounding, so a bit-exact rerun needs an explicit `--threads`.
    """

    # Runs shorter than this keep every core: probing would cost more than it could save, and
    # short runs (tests, the golden steps) stay on one thread count from start to end.
    MIN_STEPS = 1000

    def __init__(self, cores: int, period: int = 400, probe: int = 6, slack: float = 1.3, warmup: int = 20) -> None:
        self.candidates = sorted({cores, max(1, cores // 2), 1}, reverse=True)
        self.period, self.probe, self.slack = period, probe, slack
        self._set(cores)
        self._plan: list[int] = []  # thread counts of the probe steps still to run
        self._probed: dict[int, list[float]] = {}
        self._recent: list[float] = []
        self._expected: float | None = None  # the chosen count's step time when it was probed
        self._since = period - warmup  # the first probe after `warmup` steps (allocations, caches)

    def _start_probe(self) -> None:
        self._plan = [n for n in self.candidates for _ in range(self.probe)]
        self._probed = {n: [] for n in self.candidates}
        self._set(self._plan[0])

    def _set(self, threads: int) -> None:
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        self.threads = threads

    def observe(self, seconds: float) -> None:
        """Record the step just taken (at `self.threads`) and set the count for the next one."""
        if self._plan:
            self._probed[self._plan.pop(0)].append(seconds)
            if self._plan:
                self._set(self._plan[0])
                return
            # the first step at each count pays for waking its threads: judge by the rest
            best = min(self.candidates, key=lambda n: statistics.median(self._probed[n][1:] or self._probed[n]))
            self._expected = statistics.median(self._probed[best][1:] or self._probed[best])
            self._set(best)
            self._since, self._recent = 0, []
            return
        self._since += 1
        self._recent = [*self._recent[-19:], seconds]
        slow = (self._expected is not None and len(self._recent) == 20
                and statistics.median(self._recent) > self.slack * self._expected)
        if self._since >= self.period or slow:
            self._start_probe()
