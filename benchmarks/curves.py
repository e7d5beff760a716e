"""Per-epoch test-accuracy curves of several runs, as papers plot them, from their history.csv.

    python benchmarks/curves.py runs/reproduce/improved-sgan-100-s{0,1,2,3,4} \\
        --csv benchmarks/results/improved_curve.csv --markdown benchmarks/results/improved_curve.md \\
        --plot runs/reproduce/improved_curve.png

Runs still in progress are read as far as they got, so the curve can be published while a
reproduction goes on over several sessions. An epoch is `--steps-per-epoch` steps (600 for
`improved`: 60,000 unlabeled images in batches of 100); a run's history must be written once an
epoch (the `improved` preset's sample interval). Wall time to a target is `speed.py
--time-to-accuracy`'s job; this script gives the epochs.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
from pathlib import Path

from sgan.runlog import read_history

DEFAULT_EPOCHS = (1, 2, 5, 10, 20, 50, 100, 150, 200, 250, 300)


def read_curve(run: Path, steps_per_epoch: int) -> dict[int, float]:
    """Test accuracy by epoch (1-based) from a run directory's history.csv."""
    curve = {int(row["step"]) // steps_per_epoch: row["test_accuracy"] for row in read_history(run)
             if int(row["step"]) % steps_per_epoch == 0 and "test_accuracy" in row}
    if not curve:
        raise ValueError(f"{run}: no evaluation at a multiple of {steps_per_epoch} steps; wrong --steps-per-epoch?")
    return curve


def first_epoch(curve: dict[int, float], target: float) -> int | None:
    return next((epoch for epoch in sorted(curve) if curve[epoch] >= target), None)


def run_name(run: Path) -> str:
    return (run if run.is_dir() else run.parent).name


def markdown(curves: dict[str, dict[int, float]], epochs: list[int], targets: list[float]) -> str:
    names = list(curves)
    last = max(max(c) for c in curves.values())
    shown = sorted({e for e in epochs if e <= last} | {last})
    lines = ["| epoch | " + " | ".join(names) + " | mean ± std |", "|---:|" + "---:|" * (len(names) + 1)]
    for epoch in shown:
        values = [curves[n].get(epoch) for n in names]
        have = [v for v in values if v is not None]
        # The mean only where every run has the epoch: a mean over fewer runs is not comparable.
        # The spread is the sample standard deviation over runs (seeds), as papers report it.
        spread = f" ± {100 * statistics.stdev(have):.2f}" if len(have) > 1 else ""
        mean = f"{100 * statistics.mean(have):.2f}{spread}" if len(have) == len(values) else "-"
        lines.append(f"| {epoch} | " + " | ".join("-" if v is None else f"{100 * v:.2f}" for v in values)
                     + f" | {mean} |")
    common = min(max(c) for c in curves.values())
    at_common = [curves[n].get(common) for n in names]
    if len(names) > 1 and None not in at_common:
        # Test errors out of the 10,000 test images, as papers report (the accuracy is errors/10000).
        errors = [round(10000 * (1 - v)) for v in at_common]
        lines += ["", f"At epoch {common}, the last every run has reached: "
                      f"{100 * statistics.mean(at_common):.2f} ± {100 * statistics.stdev(at_common):.2f}% "
                      f"test accuracy, {statistics.mean(errors):.0f} ± {statistics.stdev(errors):.0f} "
                      f"test errors / 10000 (mean ± std over {len(names)} runs)."]
    firsts = " | ".join(f"first epoch >= {100 * t:g}%" for t in targets)
    lines += ["", f"| run | epochs trained | final | best | {firsts} |",
              "|---|---:|---:|---:|" + "---:|" * len(targets)]
    for name, curve in curves.items():
        hits = [first_epoch(curve, t) for t in targets]
        lines.append(f"| {name} | {max(curve)} | {100 * curve[max(curve)]:.2f}% | {100 * max(curve.values()):.2f}% | "
                     + " | ".join("not reached" if h is None else str(h) for h in hits) + " |")
    return "\n".join(lines) + "\n"


def write_csv(path: Path, curves: dict[str, dict[int, float]]) -> None:
    epochs = sorted(set().union(*curves.values()))
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", *curves])
        for epoch in epochs:
            writer.writerow([epoch, *("" if epoch not in c else f"{c[epoch]:.4f}" for c in curves.values())])


def plot(path: Path, curves: dict[str, dict[int, float]], targets: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name, curve in curves.items():
        epochs = sorted(curve)
        ax.plot(epochs, [100 * curve[e] for e in epochs], label=name, linewidth=1)
    for t in targets:
        ax.axhline(100 * t, color="gray", linestyle=":", linewidth=1)
    low = min(min(c.values()) for c in curves.values())
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", ylim=(max(0.0, 100 * low - 1), 100))
    ax.legend(fontsize="small")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run directories (or their history.csv)")
    parser.add_argument("--steps-per-epoch", type=int, default=600)
    parser.add_argument("--epochs", default=",".join(map(str, DEFAULT_EPOCHS)), help="epochs shown in the table")
    parser.add_argument("--targets", default="0.98,0.99", help="accuracies whose first epoch is reported")
    parser.add_argument("--csv", type=Path, help="every epoch of every run")
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--plot", type=Path)
    args = parser.parse_args(argv)
    if args.steps_per_epoch < 1:
        parser.error("--steps-per-epoch must be >= 1")
    try:
        epochs = [int(e) for e in args.epochs.split(",")]
        targets = [float(t) for t in args.targets.split(",")]
    except ValueError as e:
        parser.error(f"--epochs and --targets take comma-separated numbers: {e}")
    try:
        curves = {run_name(run): read_curve(run, args.steps_per_epoch) for run in args.runs}
    except (OSError, ValueError, KeyError) as e:
        print(f"curves: {e}", file=sys.stderr)
        return 1
    table = markdown(curves, epochs, targets)
    print(table)
    if args.csv:
        write_csv(args.csv, curves)
    if args.markdown:
        args.markdown.write_text(table)
    if args.plot:
        plot(args.plot, curves, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
