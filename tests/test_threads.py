"""Threads chosen by measured speed when the cores are shared (sgan.runtime.ThreadTuner)."""

import torch

from sgan.runtime import ThreadTuner


def drive(tuner: ThreadTuner, seconds_at: dict[int, float], steps: int) -> list[int]:
    """Feed the tuner steps whose time depends on its thread count; returns the counts used."""
    used = []
    for _ in range(steps):
        used.append(tuner.threads)
        tuner.observe(seconds_at[tuner.threads])
    return used


def test_the_faster_thread_count_wins_and_a_slowdown_makes_it_look_again():
    threads = torch.get_num_threads()
    try:
        tuner = ThreadTuner(cores=4, period=100, probe=3, warmup=5)
        assert tuner.candidates == [4, 2, 1]
        idle = {4: 0.030, 2: 0.045, 1: 0.070}
        used = drive(tuner, idle, 60)
        assert used[:5] == [4] * 5  # warm-up on every core
        assert used[5:14] == [4, 4, 4, 2, 2, 2, 1, 1, 1]  # the probe
        assert set(used[14:]) == {4} and torch.get_num_threads() == 4
        # another process takes cores: all-core steps slow down, the tuner probes again early
        loaded = {4: 0.200, 2: 0.060, 1: 0.080}
        used = drive(tuner, loaded, 60)
        assert used[-1] == 2 and len(used) - used[::-1].index(4) < 30  # re-probed within ~20 steps
        # the load goes away: the next periodic probe returns to every core
        used = drive(tuner, idle, 150)
        assert used[-1] == 4
    finally:
        torch.set_num_threads(threads)
