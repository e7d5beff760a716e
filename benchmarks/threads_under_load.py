"""Step time of the default run when another process holds a core, against fixed thread counts.

    python benchmarks/threads_under_load.py --markdown benchmarks/results/threads_under_load.md

Each row trains the default `gia` preset (bf16 generator, float32 classifier) on random images of
MNIST's shape for `--steps` steps in this process, with sgan's default (threads chosen by
measured speed, sgan.runtime.ThreadTuner, as a training run does) or a fixed `--threads`, first
on the otherwise idle machine, then beside one busy-loop process. The figure is the mean step
time over all steps after the first 20, probe steps included. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from sgan.config import get_config
from sgan.data import synthetic_split
from sgan.engine import Trainer
from sgan.runlog import machine_info
from sgan.runtime import ThreadTuner


def mean_step_ms(threads: int | None, steps: int) -> tuple[float, int]:
    """Mean ms a step after the first 20, and the thread count at the end."""
    cores = os.cpu_count() or 1
    torch.set_num_threads(threads or cores)
    trainer = Trainer(get_config("gia", threads=threads, out=tempfile.mkdtemp()),
                      split=synthetic_split(100, 5000, 100), progress=False)
    tuner = ThreadTuner(cores) if threads is None else None
    times = []
    for _ in range(steps):
        began = time.perf_counter()
        trainer.step()
        times.append(time.perf_counter() - began)
        if tuner is not None:
            tuner.observe(times[-1])
    return 1000 * statistics.mean(times[20:]), torch.get_num_threads()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--markdown", help="write the table here too")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    settings = {"default (chosen by speed)": None, f"--threads {cores}": cores, "--threads 1": 1}
    rows = []
    for load in ("idle", "one busy process beside it"):
        busy = None
        if load != "idle":
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            time.sleep(1.0)
        try:
            for name, threads in settings.items():
                ms, final = mean_step_ms(threads, args.steps)
                rows.append(f"| {load} | {name} | {ms:.1f} | {final} |")
                print(rows[-1], flush=True)
        finally:
            if busy is not None:
                busy.kill()
                busy.wait()
    m = machine_info()
    text = "\n".join([f"Machine: {m['cpu']}, {cores} cores, torch {torch.__version__}; gia default, "
                      f"{args.steps} steps a row.", "",
                      "| machine | threads | ms/step (mean, probes included) | threads at the end |",
                      "|---|---|---:|---:|", *rows]) + "\n"
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
