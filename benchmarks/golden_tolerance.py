"""How far rounding alone moves the golden first-step losses, and how far a small real change does.

    python benchmarks/golden_tolerance.py --write --other benchmarks/results/gpu_check.json \
        --markdown benchmarks/results/golden_tolerance.md

tests/test_golden.py compares each preset's first 20 float32 steps with tests/golden/first_steps.json.
Another CPU runs other kernels that sum in another order; here that is imitated by the same
run again (oneDNN's multi-threaded kernels need not sum in the same order twice), another
thread count and, for stacked, another memory layout (gia's dropout masks follow the memory
layout, so for gia that is a different random draw, not rounding). `--other` adds the per-step
differences another machine's CPU measured (benchmarks/gpu_check.py writes them for the GPU
machine's CPU, an Intel Xeon). With --write, each case's
tolerance per step becomes ten times the largest rounding difference up to that step (at least
1e-5, at most 1). The table then shows, for small real changes, the largest difference as a
multiple of the tolerance: above 1 means the test catches the change.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import test_golden as golden  # noqa: E402

from sgan.config import get_config  # noqa: E402

MARGIN, FLOOR, CAP = 10.0, 1e-5, 1.0


def rounding_variants(preset: str) -> dict[str, dict]:
    variants = {"the same again": {}, "1 thread": {"threads": 1}}
    if preset == "stacked":
        variants["no channels-last"] = {"channels_last": False}
    return variants


def real_changes(preset: str) -> dict[str, dict]:
    c = get_config(preset)
    return {"beta1 - 0.01": {"beta1": c.beta1 - 0.01}, "lr x 1.01": {"lr": c.lr * 1.01},
            "Adam eps x 10": {"adam_eps": c.adam_eps * 10}}


def run(preset: str, method: str, overrides: dict) -> dict[str, list[float]]:
    threads = torch.get_num_threads()
    try:
        return golden.first_steps(preset, method, **overrides)
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store the measured tolerances in the golden file")
    parser.add_argument("--markdown", help="write the table here too")
    parser.add_argument("--other", help="gpu_check.py's JSON: its CPU's per-step differences count as rounding too")
    args = parser.parse_args()
    data = json.loads(golden.GOLDEN.read_text())
    other: dict[str, list[float]] = {}
    if args.other:
        measured = json.loads(Path(args.other).read_text())
        other = {f"{r['preset']}-{r['method']}": r["cpu"]["differences"] for r in measured["parity"]}
        m = measured["machine"]
        print(f"also counting {m['cpu']} ({m['torch_threads']} threads, torch {measured['torch']})", flush=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    lines = [f"Machine: {cpu}, {torch.get_num_threads()} threads, torch {torch.__version__}.", "",
             "| preset | method | rounding, largest over steps 1-3 / 1-20 | tolerance at steps 1, 3, 10, 20 | "
             "beta1 - 0.01 | lr x 1.01 | Adam eps x 10 |", "|---|---|---|---|---:|---:|---:|"]
    for preset, method in golden.CASES:
        case = data[f"{preset}-{method}"]
        spread = [0.0] * golden.STEPS
        for overrides in rounding_variants(preset).values():
            d = golden.differences(run(preset, method, overrides), case["losses"])
            spread = [max(a, b) for a, b in zip(spread, d, strict=True)]
        if f"{preset}-{method}" in other:
            spread = [max(a, b) for a, b in zip(spread, other[f"{preset}-{method}"], strict=True)]
        if args.write:
            envelope, running = [], 0.0
            for s in spread:
                running = max(running, s)
                envelope.append(min(max(MARGIN * running, FLOOR), CAP))
            case["rtol"] = envelope
        caught = [f"{golden.worst(run(preset, method, o), case):.3g}" for o in real_changes(preset).values()]
        tol = case["rtol"]
        lines.append(f"| {preset} | {method} | {max(spread[:3]):.1e} / {max(spread):.1e} | "
                     f"{tol[0]:.0e}, {tol[2]:.0e}, {tol[9]:.0e}, {tol[19]:.0e} | " + " | ".join(caught) + " |")
        print(lines[-1], flush=True)
    lines += ["", "Rounding: the largest per-step difference |got - golden| / (|golden| + 0.01) over the losses, "
              "of the same run again, with another thread count (and, for stacked, NCHW instead of channels-last)"
              + (f", and on {m['cpu']} with {m['torch_threads']} threads and torch {measured['torch']} "
                 "(benchmarks/gpu_check.py)" if other else "") + ". Tolerance: ten times "
              "the running largest rounding difference, within [1e-5, 1]. Changes: the largest difference as a "
              "multiple of the tolerance (> 1: the golden test fails, as it should)."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.write:
        golden.GOLDEN.write_text(json.dumps(data, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
