"""Which feature-matching option moves the crossed sevens? `improved` on chosen labeled subsets,
one run per (subset, variant), all at once, stopped at a deadline; then each run's classifier
is evaluated on the test set and the sevens' confusions are tabulated.

    python benchmarks/label_subset_ablation.py --out runs/ablation17 --device cuda \
        --subsets 3:3,4:4,0:0 --variants control,fresh,consistency,entropy,all --epochs 100 --deadline 3600

A subset is LABEL_SEED:SEED (the labeled draw and the training seed). Runs resume: rerunning with
the same --out continues every unfinished run. Writes ablation17.json/.md beside the runs and
prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

VARIANTS: dict[str, list[str]] = {
    "control": [],
    "fresh": ["fresh_generator_noise=true"],
    "consistency": ["consistency_weight=0.05"],
    "entropy": ["entropy_weight=0.1"],
    "fresh+consistency": ["fresh_generator_noise=true", "consistency_weight=0.05"],
    "all": ["fresh_generator_noise=true", "consistency_weight=0.05", "entropy_weight=0.1"],
    "adam-inside": ["adam_eps_inside_sqrt=true", "adam_eps=1e-8"],  # improved-gan's Adam
}
STEPS_PER_EPOCH = 600


def launch(run_dir: Path, label_seed: int, seed: int, variant: str, epochs: float, device: str,
           threads: int) -> subprocess.Popen:
    base = [sys.executable, "-m", "sgan.cli", "train"]
    if (run_dir / "checkpoint.pt").exists():
        cmd = [*base, "--resume", str(run_dir), "--steps", str(round(epochs * STEPS_PER_EPOCH)), "--device", device]
    else:
        cmd = [*base, "--preset", "improved", "--label-seed", str(label_seed), "--seed", str(seed),
               "--steps", str(round(epochs * STEPS_PER_EPOCH)), "--out", str(run_dir), "--device", device]
        for setting in VARIANTS[variant]:
            cmd += ["--set", setting]
    cmd += ["--threads", str(threads), "--no-progress"]
    log = open(run_dir.parent / f"{run_dir.name}.log", "a")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)


def sevens(run_dir: Path) -> dict | None:
    """The run's test figures from its last checkpoint: accuracy, errors, the sevens' fate."""
    from sgan.checkpoint import load_checkpoint
    from sgan.inference import evaluate_checkpoint

    path = run_dir / "checkpoint.pt"
    if not path.exists():
        return None
    result = evaluate_checkpoint(path)
    seven = result["confusion"][7]
    per_class = [1.0 if a is None else a for a in result["per_class_accuracy"]]
    return {"step": int(load_checkpoint(path)["step"]), "accuracy": result["accuracy"], "errors": result["errors"],
            "class7": result["per_class_accuracy"][7], "7_as_2": seven[2], "7_as_8": seven[8],
            "7_as_9": seven[9], "worst_class": min(range(10), key=lambda k: per_class[k]),
            "worst_class_accuracy": min(per_class)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True)
    p.add_argument("--subsets", default="3:3,4:4")
    p.add_argument("--variants", default="control,fresh,consistency,entropy,all")
    p.add_argument("--epochs", type=float, default=100.0)
    p.add_argument("--deadline", type=float, default=3600.0, help="seconds; then every run saves and stops")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for pair in args.subsets.split(","):
        label_seed, seed = (int(v) for v in pair.split(":"))
        for variant in args.variants.split(","):
            if variant not in VARIANTS:
                sys.exit(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
            runs.append((label_seed, seed, variant, out / f"L{label_seed}-s{seed}-{variant}"))

    start = time.monotonic()
    procs = [launch(d, ls, s, v, args.epochs, args.device, args.threads) for ls, s, v, d in runs]
    while any(pr.poll() is None for pr in procs) and time.monotonic() - start < args.deadline:
        time.sleep(2)
    for pr in procs:
        if pr.poll() is None:
            pr.send_signal(signal.SIGTERM)  # each finishes its step and saves a checkpoint
    for pr in procs:
        pr.wait()
    wall = time.monotonic() - start

    rows = []
    for (label_seed, seed, variant, run_dir), pr in zip(runs, procs, strict=True):
        figures = sevens(run_dir)
        rows.append({"label_seed": label_seed, "seed": seed, "variant": variant, "settings": VARIANTS[variant],
                     "exit": pr.returncode, **(figures or {})})
    (out / "ablation17.json").write_text(json.dumps({"wall_seconds": round(wall, 1), "device": args.device,
                                                      "cpu": os.uname().machine, "rows": rows}, indent=1))
    lines = ["| label seed | seed | variant | epochs | test acc. | errors | class 7 | 7 as 2 | 7 as 8 | 7 as 9 |"
             " worst class |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "step" not in r:
            lines.append(f"| {r['label_seed']} | {r['seed']} | {r['variant']} | - | no checkpoint (exit {r['exit']}) |"
                         " | | | | | |")
            continue
        lines.append(f"| {r['label_seed']} | {r['seed']} | {r['variant']} | {r['step'] / STEPS_PER_EPOCH:.1f} | "
                     f"{100 * r['accuracy']:.2f}% | {r['errors']} | {100 * r['class7']:.1f}% | {r['7_as_2']} | "
                     f"{r['7_as_8']} | {r['7_as_9']} | {r['worst_class']} ({100 * r['worst_class_accuracy']:.1f}%) |")
    table = "\n".join(lines)
    (out / "ablation17.md").write_text(table + "\n")
    print(table)
    print(f"wall {wall:.0f} s")


if __name__ == "__main__":
    main()
