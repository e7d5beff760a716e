"""Experiment grids: presets x label counts x seeds, SGAN and optionally its supervised baseline.

A sweep is a folder of run directories named `<preset>-<method>-<labels>-s<seed>` (with
`-L<label seed>` before `-s` where the labeled subset has its own seed). A run whose
`report.json` reaches the planned length is complete and skipped; one with only a checkpoint,
or a report of fewer steps, is resumed to that length. So an interrupted sweep, rerun with the
same command, picks up where it stopped. After every run the aggregate
(`results.csv`, `results.md`, `accuracy_vs_labels.png`) is rewritten from the reports on disk.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from sgan.config import PRESETS, get_config, run_config
from sgan.files import save_figure, write_text

RESULT_FIELDS = ["preset", "method", "labels", "precision", "runs", "accuracy_mean", "accuracy_std", "errors_mean",
                 "errors_std", "wall_seconds_mean", "steps"]


@dataclass(frozen=True)
class RunSpec:
    preset: str
    method: str
    labels: int
    seed: int
    precision: str = "fp32"
    label_seed: int | None = None  # the labeled subset's seed; None: `seed`

    @property
    def name(self) -> str:
        """The run's folder; a bf16 run is suffixed so that it never resumes or skips an fp32 one."""
        suffix = "" if self.precision == "fp32" else f"-{self.precision}"
        subset = "" if self.label_seed is None else f"-L{self.label_seed}"
        return f"{self.preset}-{self.method}-{self.labels}{subset}-s{self.seed}{suffix}"


def plan(presets: Iterable[str], labels: Iterable[int], seeds: Iterable[int], baseline: bool,
         precision: str | None = None, label_seeds: Iterable[int | None] = (None,)) -> list[RunSpec]:
    """Every run of the grid; baselines (cheap) before the SGAN runs of each preset.

    `precision` overrides the presets' own (None: each preset's default). `label_seeds` crosses
    the grid with labeled subsets drawn apart from the training seed (None: the seed draws both).
    """
    presets, labels, seeds, label_seeds = list(presets), list(labels), list(seeds), list(label_seeds)
    for p in presets:
        if p not in PRESETS:
            raise ValueError(f"unknown preset {p!r}; choose from {', '.join(PRESETS)}")
    if not (presets and labels and seeds and label_seeds):
        raise ValueError("a sweep needs at least one preset, one label count and one seed")
    methods = ["supervised", "sgan"] if baseline else ["sgan"]
    return [RunSpec(p, m, n, s, get_config(p, method=m, precision=precision).precision, ls)
            for p in presets for m in methods for n in labels for ls in label_seeds for s in seeds]


def run_one(spec: RunSpec, root: str | Path, options: dict[str, Any]) -> dict[str, Any]:
    """Train, resume or skip one run of the sweep; returns its report."""
    from sgan.engine import differences_from_folder, resume, train

    run_dir = Path(root) / spec.name
    config = run_config(spec.preset, spec.method, labels=spec.labels, seed=spec.seed, label_seed=spec.label_seed,
                        out=str(run_dir), **{**options, "precision": spec.precision})
    # A run's identity is every option that changes its result: a folder trained otherwise is
    # another run, never counted as this one.
    differ = differences_from_folder(config, run_dir)
    if differ:
        said = ", ".join(f"{k}={old!r} (this sweep: {new!r})" for k, (old, new) in sorted(differ.items()))
        raise ValueError(f"{run_dir} holds a run trained with {said}; sweep into another --out")
    report = run_dir / "report.json"
    if report.is_file():
        finished = read_report(report)
        if finished["steps"] >= config.run_steps:
            return {**finished, "skipped": True}
    # A run stopped short of the planned length (interrupted, or trained with fewer --steps in
    # an earlier sweep) is continued to it from its checkpoint.
    if (run_dir / "checkpoint.pt").is_file():
        here = {k: options.get(k) for k in ("threads", "data_dir", "device")}  # this machine's, as for a new run
        return resume(run_dir, steps=config.run_steps, progress=False, **here)
    return train(config, progress=False)


# Set in a worker process once a signal has stopped one of its runs: a worker goes on to the
# runs already queued to it, and must not start them.
_stopped = False


@contextlib.contextmanager
def _terminate_passed_on() -> Iterator[None]:
    """SIGTERM to a sweep reaches its worker processes, as Ctrl-C reaches the whole process group;
    without this, `kill` ended the sweep and left its workers training the queued runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def handler(signum: int, frame: Any) -> None:
        from sgan.engine import TrainingInterrupted

        for child in multiprocessing.active_children():
            child.terminate()  # SIGTERM: each worker's run saves its checkpoint and stops
        if not received:  # once: a second signal must not cut short the wait for the checkpoints
            received.append(signum)
            raise TrainingInterrupted("SIGTERM: the sweep's running runs saved their checkpoints and stopped")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_safely(spec: RunSpec, root: str, options: dict[str, Any]) -> tuple[RunSpec, dict | None, str | None]:
    from sgan.engine import TrainingInterrupted

    global _stopped
    if _stopped:
        raise TrainingInterrupted(f"{spec.name} not started: the sweep was stopped")
    try:
        return spec, run_one(spec, root, options), None
    except TrainingInterrupted:
        _stopped = multiprocessing.parent_process() is not None  # a worker's; the sweep's own process may sweep again
        raise  # Ctrl-C / SIGTERM stops the whole sweep; the run's checkpoint is saved
    except Exception as e:  # one failed run must not stop the sweep; it is reported at the end
        return spec, None, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}"


def run_sweep(specs: list[RunSpec], root: str | Path, options: dict[str, Any] | None = None, workers: int = 1,
              executor: str = "local", address: str | None = None,
              log: Callable[[str], None] = print) -> tuple[list[dict[str, Any]], list[tuple[RunSpec, str]]]:
    """Run the grid and aggregate it. Returns (reports, failures).

    Locally, `workers` processes share the cores: each run gets cores // workers torch threads.
    With executor="ray" each run is a Ray task asking for that many CPUs, on the cluster at
    `address` (None: a local Ray instance).
    """
    root = Path(root)
    options = dict(options or {})
    if workers <= 0:
        raise ValueError(f"workers must be positive, got {workers}")
    cores = os.cpu_count() or 1
    options.setdefault("threads", max(1, cores // workers))
    if executor == "local":
        # refused here rather than by each run's Trainer, which would fail every run one by one
        threads = options["threads"]
        if not 1 <= threads <= cores:
            raise ValueError(f"threads must be between 1 and this machine's {cores} cores, got {threads}")
        if workers * threads > cores:  # oversubscribed torch threads slow every step manyfold
            fits = f"--threads {cores // workers}" if workers <= cores else f"--workers {cores} --threads 1"
            log(f"warning: {workers} workers x {threads} threads = {workers * threads} threads on {cores} cores; "
                f"steps will be much slower ({fits} fits)")
    root.mkdir(parents=True, exist_ok=True)
    reports: list[dict[str, Any]] = []
    failures: list[tuple[RunSpec, str]] = []

    def done(spec: RunSpec, report: dict | None, error: str | None) -> None:
        if error is not None:
            failures.append((spec, error))
            log(f"[{len(reports) + len(failures)}/{len(specs)}] {spec.name}: FAILED {error.splitlines()[0]}")
        else:
            reports.append(report)
            state = "complete, skipped" if report.get("skipped") else f"{report['wall_seconds']:.0f} s"
            log(f"[{len(reports) + len(failures)}/{len(specs)}] {spec.name}: test accuracy "
                f"{100 * report['test_accuracy']:.2f}% ({state})")
        write_results(root, collect_reports(root))

    if executor == "local" and workers == 1:
        for spec in specs:
            done(*_run_safely(spec, str(root), options))
    elif executor == "local":
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"))
        with _terminate_passed_on():
            try:
                futures = [pool.submit(_run_safely, spec, str(root), options) for spec in specs]
                for future in as_completed(futures):
                    done(*future.result())
            except BaseException:
                # Ctrl-C reaches every worker, and SIGTERM is passed on to them: the running runs
                # save their checkpoints and stop; queued runs must not start after it.
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        pool.shutdown()
    elif executor == "ray":
        try:
            import ray
        except ImportError:
            raise ValueError("--executor ray needs Ray: pip install 'sgan[ray]'") from None
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        # Workers of a cluster started apart (`ray start`, --address) share neither the driver's
        # working directory nor its environment: give them an absolute sweep folder (on storage
        # they share) and the dataset location.
        env = {k: os.environ[k] for k in ("SGAN_DATA_DIR",) if k in os.environ}
        runtime_env = {"env_vars": env} if env else None
        remote = ray.remote(num_cpus=options["threads"], runtime_env=runtime_env)(_run_safely)
        pending = [remote.remote(spec, str(root.resolve()), options) for spec in specs]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            done(*ray.get(ready[0]))
    else:
        raise ValueError(f"unknown executor {executor!r}; choose local or ray")
    return reports, failures


def read_report(path: Path) -> dict[str, Any]:
    """A run's report.json, or a one-line error naming it."""
    try:
        report = json.loads(Path(path).read_text())
        int(report["steps"]), float(report["test_accuracy"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: corrupt report ({type(e).__name__}: {e}); delete it to train the run again"
                         ) from None
    return report


def collect_reports(root: str | Path) -> list[dict[str, Any]]:
    """Every complete run's report under `root` (one folder down); a corrupt one is left out (its run
    says why). Reports written before the precision was recorded are of float32 runs."""
    reports = []
    for path in sorted(Path(root).glob("*/report.json")):
        try:
            report = read_report(path)
        except ValueError:
            continue
        if not report.get("stopped"):  # an interrupted run's report is its progress, not a result
            reports.append({"precision": "fp32", **report})
    return reports


def aggregate(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation (ddof=1, as papers report over seeds) per grid cell.

    Runs of different lengths are cells of their own: a mean over them would describe no schedule.
    """
    cells: dict[tuple[str, str, int, str, int], list[dict[str, Any]]] = {}
    for r in reports:
        cells.setdefault((r["preset"], r["method"], int(r["labels"]), r["precision"], int(r["steps"])), []).append(r)
    rows = []
    for (preset, method, labels, precision, steps), rs in sorted(cells.items()):
        acc = np.array([r["test_accuracy"] for r in rs])
        err = np.array([r["test_errors"] for r in rs])
        ddof = 1 if len(rs) > 1 else 0
        rows.append({
            "preset": preset, "method": method, "labels": labels, "precision": precision, "runs": len(rs),
            "accuracy_mean": float(acc.mean()), "accuracy_std": float(acc.std(ddof=ddof)),
            "errors_mean": float(err.mean()), "errors_std": float(err.std(ddof=ddof)),
            "wall_seconds_mean": float(np.mean([r["wall_seconds"] for r in rs])),
            "steps": steps,
        })
    return rows


def results_markdown(rows: list[dict[str, Any]], machine: str = "") -> str:
    lines = ["| preset | method | labels | precision | runs | test accuracy (%) | test errors / 10000 | steps "
             "| wall s / run |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['preset']} | {r['method']} | {r['labels']} | {r['precision']} | {r['runs']} | "
            f"{100 * r['accuracy_mean']:.2f} ± {100 * r['accuracy_std']:.2f} | "
            f"{r['errors_mean']:.0f} ± {r['errors_std']:.0f} | {r['steps']} | {r['wall_seconds_mean']:.0f} |")
    if machine:
        lines += ["", f"Machine: {machine}. Mean ± standard deviation over seeds (labeled subset and initialisation)."]
    return "\n".join(lines) + "\n"


def write_results(root: str | Path, reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    root = Path(root)
    rows = aggregate(reports)
    table = io.StringIO()
    writer = csv.DictWriter(table, fieldnames=RESULT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(root / "results.csv", table.getvalue())
    machine = ""
    if reports:
        m = reports[-1].get("machine", {})
        machine = f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores, torch {reports[-1].get('torch_version', '?')}"
    write_text(root / "results.md", results_markdown(rows, machine))
    if rows:
        plot_accuracy_vs_labels(rows, root / "accuracy_vs_labels.png")
    return rows


def plot_accuracy_vs_labels(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for preset, precision in sorted({(r["preset"], r["precision"]) for r in rows}):
        name = preset if precision == "fp32" else f"{preset} {precision}"
        for method, style in (("sgan", "-o"), ("supervised", "--s")):
            key = (preset, precision, method)
            # one point per label count: where runs of several lengths share it, the longest
            longest = {r["labels"]: r for r in sorted(rows, key=lambda r: r["steps"])
                       if (r["preset"], r["precision"], r["method"]) == key}
            cell = [longest[n] for n in sorted(longest)]
            if cell:
                ax.errorbar([r["labels"] for r in cell], [100 * r["accuracy_mean"] for r in cell],
                            yerr=[100 * r["accuracy_std"] for r in cell], fmt=style, capsize=3,
                            label=f"{name} {'SGAN' if method == 'sgan' else 'supervised'}")
    ax.set_xscale("log")
    ax.set(xlabel="labeled examples", ylabel="test accuracy (%)", title="Test accuracy against label count")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, path, dpi=100)
    plt.close(fig)
