"""Reproduce the two tutorials: full schedules, several seeds, SGAN and its supervised baseline.

    python benchmarks/reproduce.py                      # gia and stacked, seeds 0-2
    python benchmarks/reproduce.py --presets gia --seeds 5
    python benchmarks/reproduce.py --publish-only   # aggregate what is complete so far
    python benchmarks/reproduce.py --presets improved-fast --label-seeds 0-9 --no-baseline --workers 2
    python benchmarks/reproduce.py --presets improved-fast --label-seeds 0 --seeds 5 --no-baseline --workers 2

With --label-seeds, each labeled subset is drawn apart from the training seed: alone, label seed
k trains with seed k (ten subsets, ten runs); with --seeds N, every subset with seeds 0..N-1
(the paper's other protocol: one subset, several training seeds).

--workers N runs N at a time, each on cores / N torch threads; --threads T sets each run's
threads instead, e.g. --workers 1 --threads 1 beside another one-thread job on two cores.

Runs go to runs/reproduce/ (not committed); rerunning skips complete runs and resumes
interrupted ones. Each complete run's report.json is also kept, committed, in
benchmarks/results/reports/; they are put back into runs/reproduce/ before a sweep, so a fresh
checkout skips the runs already finished and the table grows as runs complete. The
aggregate is copied to benchmarks/results/reproduction.md and .csv, one row per run in
reproduction_runs.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np

from sgan.config import CHOICES, run_config
from sgan.engine import TrainingInterrupted
from sgan.sweep import collect_reports, plan, run_sweep, write_results

RESULTS = Path(__file__).parent / "results"


REPORTS = RESULTS / "reports"


def restore(out: str | Path) -> int:
    """Put the committed reports of finished runs back, so that the sweep skips them."""
    restored = 0
    for saved in sorted(REPORTS.glob("*.json")):
        target = Path(out) / saved.stem / "report.json"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(saved, target)
            restored += 1
    return restored


def full_schedule(report: dict) -> bool:
    """Whether a run trained its preset's whole schedule (not a run staged with fewer --steps)."""
    return report["steps"] >= run_config(report["preset"], report["method"], labels=report["labels"]).run_steps


def publish(out: str | Path) -> str:
    """Keep every complete run's report and copy the aggregate into benchmarks/results/."""
    restore(out)
    REPORTS.mkdir(parents=True, exist_ok=True)
    for report in sorted(Path(out).glob("*/report.json")):
        r = json.loads(report.read_text())
        if full_schedule(r):
            # a run trained with an absolute --out names this machine's folder; the copy names the run
            if "run_dir" in r and Path(r["run_dir"]).is_absolute():
                r["run_dir"] = str(Path(out) / report.parent.name)
            (REPORTS / f"{report.parent.name}.json").write_text(json.dumps(r, indent=2) + "\n")
    reports = [r for r in collect_reports(out) if full_schedule(r)]
    write_results(out, reports)
    RESULTS.mkdir(exist_ok=True)
    shutil.copy(Path(out) / "results.md", RESULTS / "reproduction.md")
    shutil.copy(Path(out) / "results.csv", RESULTS / "reproduction.csv")
    fields = ["preset", "method", "labels", "precision", "seed", "label_seed", "steps", "test_accuracy", "test_errors",
              "wall_seconds", "seconds_per_step", "labeled_indices_sha256"]
    with open(RESULTS / "reproduction_runs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields + ["cpu", "torch_threads"])
        writer.writeheader()
        for r in reports:
            label_seed = r.get("label_seed", r["seed"])  # reports before it was recorded: the seed drew both
            writer.writerow({**{k: r[k] for k in fields if k != "label_seed"}, "label_seed": label_seed,
                             "cpu": r["machine"]["cpu"], "torch_threads": r["machine"]["torch_threads"]})
    (RESULTS / "label_subsets.md").write_text(subset_tables([r for r in reports if r["method"] == "sgan"]))
    return (RESULTS / "reproduction.md").read_text()


def subset_tables(reports: list[dict]) -> str:
    """Per-run tables of the SGAN runs on balanced labeled subsets (a preset that labels the first
    N images has one subset): each subset with its own seed (label seed k, seed k), then each
    subset trained with several seeds. Final figures: the run's last evaluation."""
    from sgan.config import get_config

    def row(r: dict) -> str:
        per_class = r["per_class_accuracy"]
        worst = min(range(len(per_class)), key=lambda k: per_class[k])
        return (f"| {r['label_seed']} | {r['seed']} | {100 * r['test_accuracy']:.2f}% | {r['test_errors']} | "
                f"{100 * per_class[7]:.1f}% | {worst} ({100 * per_class[worst]:.1f}%) |")

    def summary(rs: list[dict]) -> str:
        acc = np.array([r["test_accuracy"] for r in rs])
        err = np.array([r["test_errors"] for r in rs])
        if len(rs) == 1:
            spread = f"**{100 * acc[0]:.2f}%**, {err[0]} errors"
        else:
            spread = (f"**{100 * acc.mean():.2f} ± {100 * acc.std(ddof=1):.2f}%**, "
                      f"{err.mean():.1f} ± {err.std(ddof=1):.1f} errors; lowest {100 * acc.min():.2f}%")
        return f"{len(rs)} run(s): {spread}; {int((acc >= 0.99).sum())} of {len(rs)} at 99.00% or more."

    def command(preset: str, precision: str, grid: str) -> list[str]:
        own = "" if precision == get_config(preset).precision else f" --precision {precision}"
        return [f"    python benchmarks/reproduce.py --presets {preset}{own} {grid} --workers 2", ""]

    head = ["| label seed | seed | test accuracy | errors | class 7 | worst class |", "|---:|---:|---:|---:|---:|---:|"]
    out = ["# SGAN accuracy by labeled subset", "",
           "100 labels, 10 per class, from `benchmarks/reproduce.py` (command beside each table); each",
           "run's final evaluation on the 10,000 test images. Mean ± standard deviation (ddof=1).", ""]
    cells: dict[tuple, dict[tuple, dict]] = {}
    for r in reports:
        counts = r.get("labeled_class_counts") or {}
        if len(set(counts.values() if isinstance(counts, dict) else counts)) != 1:
            continue  # not a balanced draw
        r = {**r, "label_seed": r.get("label_seed", r["seed"])}
        # one row per (subset, seed): a run planned with --label-seeds (-L<k>-s<k>) and one planned
        # with --seeds (-s<k>) train the same, in two folders
        runs_ = cells.setdefault((r["preset"], r["precision"], r["steps"]), {})
        key = (r["labeled_indices_sha256"], r["seed"])
        if key not in runs_ or "-L" in Path(r.get("run_dir", "")).name:
            runs_[key] = r
    for (preset, precision, steps), by_key in sorted(cells.items()):
        rs = list(by_key.values())
        paired = sorted((r for r in rs if r["label_seed"] == r["seed"]), key=lambda r: r["label_seed"])
        if paired:
            own = all("-L" in Path(r.get("run_dir", "")).name for r in paired)
            grid = (f"--label-seeds {','.join(str(r['label_seed']) for r in paired)} --no-baseline" if own
                    else f"--seeds {len(paired)}")
            out += [f"## `{preset}` ({precision}, {steps} steps): label seed k with training seed k", "",
                    *command(preset, precision, grid), *head, *map(row, paired), "", summary(paired), ""]
        by_subset: dict[int, list[dict]] = {}
        for r in rs:
            by_subset.setdefault(r["label_seed"], []).append(r)
        for label_seed, group in sorted(by_subset.items()):
            if len(group) < 2:
                continue
            group = sorted(group, key=lambda r: r["seed"])
            seeds = [r["seed"] for r in group]
            out += [f"## `{preset}` ({precision}, {steps} steps): label seed {label_seed}, several training seeds", ""]
            if seeds == list(range(len(seeds))):
                out += command(preset, precision, f"--label-seeds {label_seed} --seeds {len(seeds)} --no-baseline")
            out += [*head, *map(row, group), "", summary(group), ""]
    return "\n".join(out)


def seed_list(text: str) -> list[int]:
    """"0-9" or "3,4,0" -> the seeds, in that order, each once."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            first, dash, last = part.partition("-")
            low, high = int(first), int(last) if dash else int(first)
            if low < 0 or high < low:
                raise ValueError
            seeds += [k for k in range(low, high + 1) if k not in seeds]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give seeds as 0-9 or 3,4,0 (non-negative, ranges low-high)"
                                         ) from None
    return seeds


def runs(presets: list[str], seeds: int | None, label_seeds: list[int] | None, baseline: bool,
         precision: str | None) -> list:
    """The planned runs: seeds 0..N-1; or per labeled subset, its own seed or every seed."""
    if label_seeds is None:
        return plan(presets, [100], range(3 if seeds is None else seeds), baseline=baseline, precision=precision)
    if seeds is None:  # label seed k with training seed k
        return [s for k in label_seeds
                for s in plan(presets, [100], [k], baseline=baseline, precision=precision, label_seeds=[k])]
    return plan(presets, [100], range(seeds), baseline=baseline, precision=precision, label_seeds=label_seeds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="gia,stacked")
    parser.add_argument("--seeds", type=int, help="training seeds 0..N-1 (default 3; with --label-seeds: paired)")
    parser.add_argument("--label-seeds", type=seed_list, help="labeled subsets, e.g. 0-9 or 3,4,0")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false",
                        help="SGAN runs only, without the supervised baseline of each")
    parser.add_argument("--out", default="runs/reproduce")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int,
                        help="torch threads per run (default: the cores shared among the workers); "
                             "beside another job, keep the total at most the cores")
    parser.add_argument("--data-dir")
    parser.add_argument("--precision", choices=CHOICES["precision"],
                        help="instead of each preset's default; bf16 runs get their own folders (-bf16)")
    parser.add_argument("--publish-only", action="store_true",
                        help="train nothing: aggregate the complete runs under --out into benchmarks/results/")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    if args.threads is not None and not 1 <= args.threads <= cores:
        parser.error(f"--threads must be between 1 and this machine's {cores} cores, got {args.threads}")

    failures = []
    restored = restore(args.out)
    if restored:
        print(f"{restored} finished run(s) restored from {REPORTS}")
    if not args.publish_only:
        specs = runs(args.presets.split(","), args.seeds, args.label_seeds, args.baseline, args.precision)
        options = {"data_dir": args.data_dir} if args.data_dir else {}
        if args.threads is not None:
            options["threads"] = args.threads
        try:
            _, failures = run_sweep(specs, args.out, options, workers=args.workers)
        except (TrainingInterrupted, KeyboardInterrupt) as e:
            print(f"reproduce: {e or 'interrupted'}; rerun the same command to resume", file=sys.stderr)
            return 130
    print(publish(args.out))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
