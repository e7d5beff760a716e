"""Reproduce the two tutorials: full schedules, several seeds, SGAN and its supervised baseline.

    python benchmarks/reproduce.py                      # gia and stacked, seeds 0-2
    python benchmarks/reproduce.py --presets gia --seeds 5
    python benchmarks/reproduce.py --publish-only   # aggregate what is complete so far

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
import shutil
import sys
from pathlib import Path

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
        if full_schedule(json.loads(report.read_text())):
            shutil.copy(report, REPORTS / f"{report.parent.name}.json")
    reports = [r for r in collect_reports(out) if full_schedule(r)]
    write_results(out, reports)
    RESULTS.mkdir(exist_ok=True)
    shutil.copy(Path(out) / "results.md", RESULTS / "reproduction.md")
    shutil.copy(Path(out) / "results.csv", RESULTS / "reproduction.csv")
    fields = ["preset", "method", "labels", "precision", "seed", "steps", "test_accuracy", "test_errors",
              "wall_seconds", "seconds_per_step", "labeled_indices_sha256"]
    with open(RESULTS / "reproduction_runs.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields + ["cpu", "torch_threads"])
        writer.writeheader()
        for r in reports:
            writer.writerow({**{k: r[k] for k in fields}, "cpu": r["machine"]["cpu"],
                             "torch_threads": r["machine"]["torch_threads"]})
    return (RESULTS / "reproduction.md").read_text()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="gia,stacked")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default="runs/reproduce")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--data-dir")
    parser.add_argument("--precision", choices=CHOICES["precision"],
                        help="instead of each preset's default; bf16 runs get their own folders (-bf16)")
    parser.add_argument("--publish-only", action="store_true",
                        help="train nothing: aggregate the complete runs under --out into benchmarks/results/")
    args = parser.parse_args()

    failures = []
    restored = restore(args.out)
    if restored:
        print(f"{restored} finished run(s) restored from {REPORTS}")
    if not args.publish_only:
        specs = plan(args.presets.split(","), [100], range(args.seeds), baseline=True, precision=args.precision)
        options = {"data_dir": args.data_dir} if args.data_dir else {}
        try:
            _, failures = run_sweep(specs, args.out, options, workers=args.workers)
        except (TrainingInterrupted, KeyboardInterrupt) as e:
            print(f"reproduce: {e or 'interrupted'}; rerun the same command to resume", file=sys.stderr)
            return 130
    print(publish(args.out))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
