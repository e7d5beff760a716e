"""Sweeps as a user relies on them: the grid planned, runs aggregated into mean ± std over seeds,
an interrupted sweep resumed by rerunning it, a failed run reported without stopping the rest,
and the same grid run by parallel local workers, by Ray, and from the command line."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sgan.engine
from sgan import data
from sgan.config import run_config
from sgan.data import SemiSupervisedSplit
from sgan.engine import Trainer
from sgan.sweep import RESULT_FIELDS, RunSpec, collect_reports, plan, run_sweep, write_results

REPO = Path(__file__).resolve().parents[1]
TRAINER_STEP = Trainer.step
# Two steps of batch 8, evaluated and checkpointed at the end: well under a second a run.
TINY = {"steps": 2, "sample_interval": 2, "batch_size": 8, "threads": 1}


def synthetic_split(pixel_range: str = "tanh", **_) -> SemiSupervisedSplit:
    """20 labeled, 32 unlabeled and 20 test images of noise: make_split's stand-in."""
    return data.synthetic_split(20, 32, 20, pixel_range)


@pytest.fixture
def tiny_runs(monkeypatch):
    """Runs train on the synthetic split (labels must be 20), never on MNIST, and draw no
    pictures (matplotlib would take most of their time); the files are still written, empty."""
    monkeypatch.setattr("sgan.engine.make_split", synthetic_split)

    def touch(_data, path, *args, **kwargs):
        Path(path).touch()
        return Path(path)

    for name in ("sgan.report.save_grid", "sgan.report.plot_curves", "sgan.report.plot_confusion",
                 "sgan.sweep.plot_accuracy_vs_labels"):
        monkeypatch.setattr(name, touch)


def count_steps(monkeypatch, fail=None) -> list[tuple[str, int, int]]:
    """Spy on Trainer.step: records (method, seed, step about to run); `fail(trainer)` raises."""
    calls = []

    def step(self, *batch):
        calls.append((self.config.method, self.config.seed, self.step_count + 1))
        if fail is not None and fail(self):
            raise RuntimeError(f"boom at step {self.step_count + 1}")
        return TRAINER_STEP(self, *batch)

    monkeypatch.setattr(Trainer, "step", step)
    return calls


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# ---------------------------------------------------------------------------------- the plan
def test_plan_covers_the_grid_with_cheap_baselines_first_per_preset(monkeypatch):
    """Every preset x method x labels x seed, once; each preset's baselines run before its SGANs."""
    from sgan import config

    monkeypatch.setitem(config.PRESETS["gia"], "precision", "bf16")  # a preset whose default is bf16
    specs = plan(["gia", "improved"], [20, 100], [0, 1], baseline=True)
    assert len(specs) == 16 and len(set(specs)) == 16
    assert [s.method for s in specs] == (["supervised"] * 4 + ["sgan"] * 4) * 2
    assert [s.preset for s in specs] == ["gia"] * 8 + ["improved"] * 8
    assert specs[:4] == [RunSpec("gia", "supervised", n, s, "bf16") for n in (20, 100) for s in (0, 1)]
    assert specs[4].name == "gia-sgan-20-s0-bf16"  # each preset's own precision: bf16 for gia
    assert specs[8].name == "improved-supervised-20-s0"
    sgan_only = plan(["gia"], [100], range(3), baseline=False, precision="fp32")
    assert sgan_only == [RunSpec("gia", "sgan", 100, s) for s in range(3)]


def test_baselines_of_a_bf16_generator_sweep_are_float32_runs():
    """A baseline has no generator: under bf16-generator it computes in float32, and is named
    and aggregated as the float32 baseline it is."""
    specs = plan(["gia"], [100], [0], baseline=True, precision="bf16-generator")
    assert [(s.method, s.precision, s.name) for s in specs] == [
        ("supervised", "fp32", "gia-supervised-100-s0"), ("sgan", "bf16-generator", "gia-sgan-100-s0-bf16-generator")]
    assert run_config("gia", "supervised", precision="bf16-generator").precision == "fp32"
    assert run_config("gia", "sgan", precision="bf16-generator").precision == "bf16-generator"


def test_bf16_runs_get_their_own_folders():
    """A bf16 sweep into the folder of an fp32 one must neither skip nor resume the fp32 runs."""
    fp32, bf16 = (plan(["gia"], [100], [0], baseline=False, precision=p)[0] for p in ("fp32", "bf16"))
    assert (fp32.name, bf16.name) == ("gia-sgan-100-s0", "gia-sgan-100-s0-bf16")
    assert bf16.precision == "bf16"


def test_plan_refuses_unknown_presets_and_empty_grids():
    """A typo or an empty list is refused before any run starts, naming the problem."""
    with pytest.raises(ValueError, match=r"unknown preset 'gan'.*gia"):
        plan(["gia", "gan"], [100], [0], baseline=False)
    for presets, labels, seeds in (([], [100], [0]), (["gia"], [], [0]), (["gia"], [100], [])):
        with pytest.raises(ValueError, match="at least one preset, one label count and one seed"):
            plan(presets, labels, seeds, baseline=True)


# ---------------------------------------------------------------------------------- aggregation
def fake_report(root: Path, method: str, labels: int, seed: int, accuracy: float, errors: int,
                wall: float, steps: int, precision: str | None = None) -> None:
    """A report.json as a run writes it; without `precision`, as reports written before it was recorded."""
    run = root / f"gia-{method}-{labels}-s{seed}{'-' + precision if precision else ''}"
    run.mkdir(parents=True)
    report = {
        "preset": "gia", "method": method, "labels": labels, "seed": seed, "steps": steps,
        "test_accuracy": accuracy, "test_errors": errors, "wall_seconds": wall,
        "machine": {"cpu": "Test CPU", "cores": 2, "torch_threads": 2}, "torch_version": "9.9.9",
    }
    if precision:
        report["precision"] = precision
    (run / "report.json").write_text(json.dumps(report))


def test_aggregate_reports_mean_and_sample_std_over_seeds(tmp_path):
    """results.csv / results.md / the plot hold mean ± std (ddof=1) per cell, in label order."""
    seeds = [(0.90, 1000, 10.0), (0.92, 800, 12.0), (0.97, 300, 14.0)]
    for seed, (acc, err, wall) in enumerate(seeds):
        fake_report(tmp_path, "sgan", 100, seed, acc, err, wall, 8000)
    fake_report(tmp_path, "sgan", 20, 0, 0.50, 5000, 4.0, 8000)
    fake_report(tmp_path, "supervised", 100, 0, 0.75, 2500, 5.0, 120)
    fake_report(tmp_path, "sgan", 100, 0, 0.80, 2000, 3.0, 8000, precision="bf16")  # a cell of its own
    rows = write_results(tmp_path, collect_reports(tmp_path))

    # accuracies 0.90, 0.92, 0.97: deviations -.03, -.01, .04; sum of squares 26e-4 over n-1 = 2
    sgan100 = rows[2]
    assert (sgan100["method"], sgan100["labels"], sgan100["precision"], sgan100["runs"]) == ("sgan", 100, "fp32", 3)
    assert sgan100["accuracy_mean"] == pytest.approx(0.93)
    assert sgan100["accuracy_std"] == pytest.approx(np.sqrt(13e-4))  # 0.0361; ddof=0 gives 0.0294
    # errors out of 10000: 1000, 800, 300; deviations 300, 100, -400; 26e4 / 2
    assert sgan100["errors_mean"] == pytest.approx(700)
    assert sgan100["errors_std"] == pytest.approx(np.sqrt(13e4))  # 360.6
    assert sgan100["wall_seconds_mean"] == pytest.approx(12) and sgan100["steps"] == 8000
    # a cell with one run has no spread to report: 0, not NaN
    cells = [(r["method"], r["labels"], r["precision"], r["runs"], r["accuracy_std"], r["errors_std"])
             for r in rows]
    assert cells == [
        ("sgan", 20, "fp32", 1, 0.0, 0.0),
        ("sgan", 100, "bf16", 1, 0.0, 0.0),
        ("sgan", 100, "fp32", 3, sgan100["accuracy_std"], sgan100["errors_std"]),
        ("supervised", 100, "fp32", 1, 0.0, 0.0),
    ]

    table = read_csv(tmp_path / "results.csv")
    assert list(table[0]) == RESULT_FIELDS == [
        "preset", "method", "labels", "precision", "runs", "accuracy_mean", "accuracy_std",
        "errors_mean", "errors_std", "wall_seconds_mean", "steps",
    ]
    assert [(r["method"], r["labels"], r["precision"], r["runs"]) for r in table] == [
        ("sgan", "20", "fp32", "1"), ("sgan", "100", "bf16", "1"), ("sgan", "100", "fp32", "3"),
        ("supervised", "100", "fp32", "1")]
    assert float(table[2]["accuracy_std"]) == pytest.approx(0.0360555, abs=1e-6)
    assert float(table[2]["errors_std"]) == pytest.approx(360.555, abs=1e-3)

    md = (tmp_path / "results.md").read_text().splitlines()
    assert md[0].startswith("| preset | method | labels | precision | runs | test accuracy (%) | test errors")
    assert md[2:6] == [
        "| gia | sgan | 20 | fp32 | 1 | 50.00 ± 0.00 | 5000 ± 0 | 8000 | 4 |",
        "| gia | sgan | 100 | bf16 | 1 | 80.00 ± 0.00 | 2000 ± 0 | 8000 | 3 |",
        "| gia | sgan | 100 | fp32 | 3 | 93.00 ± 3.61 | 700 ± 361 | 8000 | 12 |",
        "| gia | supervised | 100 | fp32 | 1 | 75.00 ± 0.00 | 2500 ± 0 | 120 | 5 |",
    ]
    assert "Machine: Test CPU, 2 cores, torch 9.9.9." in md[-1]
    assert (tmp_path / "accuracy_vs_labels.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_runs_of_different_lengths_are_cells_of_their_own(tmp_path):
    """A seed staged at half the schedule is not averaged with the finished ones."""
    fake_report(tmp_path, "sgan", 100, 0, 0.90, 1000, 10.0, 8000)
    fake_report(tmp_path, "sgan", 100, 1, 0.92, 800, 10.0, 8000)
    fake_report(tmp_path, "sgan", 100, 2, 0.50, 5000, 5.0, 4000)
    rows = write_results(tmp_path, collect_reports(tmp_path))
    assert [(r["steps"], r["runs"], round(r["accuracy_mean"], 4)) for r in rows] == [(4000, 1, 0.5), (8000, 2, 0.91)]


def test_aggregate_of_an_empty_sweep_writes_headers_only(tmp_path):
    """Before the first run finishes the result files exist and are empty tables, not errors."""
    assert write_results(tmp_path, collect_reports(tmp_path)) == []
    assert (tmp_path / "results.csv").read_text().strip() == ",".join(RESULT_FIELDS)
    assert len((tmp_path / "results.md").read_text().splitlines()) == 2
    assert not (tmp_path / "accuracy_vs_labels.png").exists()


# ---------------------------------------------------------------------------------- skip, resume
def test_rerun_skips_complete_runs_without_training(tmp_path, tiny_runs, monkeypatch):
    """Rerunning a finished sweep trains nothing: every run is reported as skipped."""
    specs = plan(["gia"], [20], [0], baseline=True, precision="fp32")
    calls = count_steps(monkeypatch)
    reports, failures = run_sweep(specs, tmp_path, TINY, log=lambda line: None)
    assert failures == []
    assert [(r["method"], r["steps"], r["labels"]) for r in reports] == [
        ("supervised", 2, 20), ("sgan", 2, 20)]
    assert len(calls) == 4 and not any(r.get("skipped") for r in reports)
    for spec in specs:
        for name in ("report.json", "checkpoint.pt"):
            assert (tmp_path / spec.name / name).is_file(), (spec.name, name)
    cells = [("sgan", "1"), ("supervised", "1")]
    assert [(r["method"], r["runs"]) for r in read_csv(tmp_path / "results.csv")] == cells

    calls.clear()
    monkeypatch.setattr("sgan.engine.make_split", lambda **kw: pytest.fail("data were read"))
    log: list[str] = []
    reports, failures = run_sweep(specs, tmp_path, TINY, log=log.append)
    assert failures == [] and calls == []
    assert len(reports) == 2 and all(r["skipped"] for r in reports)
    assert len(log) == 2 and all(line.endswith("(complete, skipped)") for line in log)
    assert [(r["method"], r["runs"]) for r in read_csv(tmp_path / "results.csv")] == cells


def test_run_with_only_a_checkpoint_is_resumed(tmp_path, tiny_runs, monkeypatch):
    """A run whose report is missing is finished from its checkpoint, not retrained from scratch."""
    specs = plan(["gia"], [20], [0, 1], baseline=False, precision="fp32")
    run_sweep(specs, tmp_path, TINY, log=lambda line: None)
    (tmp_path / "gia-sgan-20-s1" / "report.json").unlink()
    for name in ("results.csv", "results.md"):
        (tmp_path / name).write_text("stale\n")

    resumed = []
    real_resume = sgan.engine.resume

    def resume(run, **kw):
        resumed.append(Path(run))
        return real_resume(run, **kw)

    monkeypatch.setattr(sgan.engine, "resume", resume)
    monkeypatch.setattr(sgan.engine, "train", lambda *a, **kw: pytest.fail("retrained"))
    calls = count_steps(monkeypatch)
    reports, failures = run_sweep(specs, tmp_path, TINY, log=lambda line: None)
    assert failures == [] and calls == []  # its checkpoint was at the last step: nothing to train
    assert resumed == [tmp_path / "gia-sgan-20-s1"]
    by_seed = {r["seed"]: r for r in reports}
    assert by_seed[0]["skipped"] and "skipped" not in by_seed[1] and by_seed[1]["steps"] == 2
    assert (tmp_path / "gia-sgan-20-s1" / "report.json").is_file()
    assert [r["runs"] for r in read_csv(tmp_path / "results.csv")] == ["2"]
    assert "| gia | sgan | 20 | fp32 | 2 |" in (tmp_path / "results.md").read_text()


def test_rerun_with_more_steps_extends_shorter_runs_from_their_checkpoints(tmp_path, tiny_runs, monkeypatch):
    """A report of fewer steps than planned is not complete: the run continues from its
    checkpoint to the new length (a long reproduction staged over sessions), baseline included."""
    specs = plan(["gia"], [20], [0], baseline=True, precision="fp32")
    run_sweep(specs, tmp_path, TINY, log=lambda line: None)
    monkeypatch.setattr(sgan.engine, "train", lambda *a, **kw: pytest.fail("retrained from scratch"))
    calls = count_steps(monkeypatch)
    reports, failures = run_sweep(specs, tmp_path, {**TINY, "steps": 4}, log=lambda line: None)
    assert failures == []
    assert sorted(calls) == [("sgan", 0, 3), ("sgan", 0, 4), ("supervised", 0, 3), ("supervised", 0, 4)]
    assert [(r["method"], r["steps"], "skipped" in r) for r in reports] == [
        ("supervised", 4, False), ("sgan", 4, False)]
    assert [r["steps"] for r in read_csv(tmp_path / "results.csv")] == ["4", "4"]

    calls.clear()  # the shorter plan again: the longer runs are complete for it
    reports, _ = run_sweep(specs, tmp_path, TINY, log=lambda line: None)
    assert calls == [] and all(r["skipped"] and r["steps"] == 4 for r in reports)


def test_failed_run_is_reported_and_a_rerun_resumes_it(tmp_path, tiny_runs, monkeypatch):
    """One run raising is listed in failures; the rest still run; a rerun resumes it mid-way."""
    specs = plan(["gia"], [20], [0, 1, 2], baseline=False, precision="fp32")
    count_steps(monkeypatch, fail=lambda t: t.config.seed == 1 and t.step_count == 1)
    log: list[str] = []
    tiny = {**TINY, "sample_interval": 1}  # a checkpoint after step 1
    reports, failures = run_sweep(specs, tmp_path, tiny, log=log.append)
    assert [spec for spec, _ in failures] == [RunSpec("gia", "sgan", 20, 1)]
    assert failures[0][1].startswith("RuntimeError: boom at step 2")
    assert sorted(r["seed"] for r in reports) == [0, 2]  # seed 2 ran after seed 1 failed
    assert "gia-sgan-20-s1: FAILED RuntimeError: boom at step 2" in log[1]
    assert [r["runs"] for r in read_csv(tmp_path / "results.csv")] == ["2"]
    failed = tmp_path / "gia-sgan-20-s1"
    assert (failed / "checkpoint.pt").is_file() and not (failed / "report.json").exists()

    calls = count_steps(monkeypatch)  # the fault is gone
    reports, failures = run_sweep(specs, tmp_path, tiny, log=lambda line: None)
    assert failures == []
    assert calls == [("sgan", 1, 2)]  # only the missing step ran; seeds 0 and 2 were skipped
    assert {r["seed"]: r["steps"] for r in reports if not r.get("skipped")} == {1: 2}
    assert [int(row["step"]) for row in read_csv(failed / "history.csv")] == [1, 2]
    assert [r["runs"] for r in read_csv(tmp_path / "results.csv")] == ["3"]


def test_ctrl_c_stops_the_sweep_and_a_rerun_resumes_it(tmp_path, tiny_runs, monkeypatch):
    """A signal during a run saves its checkpoint and stops the sweep: later runs do not start."""
    import signal

    from sgan.engine import TrainingInterrupted

    specs = plan(["gia"], [20], [0, 1, 2], baseline=False, precision="fp32")

    def interrupt(trainer):  # as the SIGINT handler does: finish the step, then stop
        if trainer.config.seed == 1 and trainer.step_count == 0:
            trainer._stop_signal = signal.SIGINT
        return False

    calls = count_steps(monkeypatch, fail=interrupt)
    with pytest.raises(TrainingInterrupted, match="SIGINT at step 1"):
        run_sweep(specs, tmp_path, TINY, log=lambda line: None)
    assert [c[1] for c in calls] == [0, 0, 1]  # seed 2 never started
    assert (tmp_path / "gia-sgan-20-s1" / "checkpoint.pt").is_file()
    # the interrupted run's report says so, and the sweep's results leave it out
    assert json.loads((tmp_path / "gia-sgan-20-s1" / "report.json").read_text())["stopped"] == "signal SIGINT"
    assert [r["seed"] for r in collect_reports(tmp_path)] == [0]

    calls = count_steps(monkeypatch)
    reports, failures = run_sweep(specs, tmp_path, TINY, log=lambda line: None)
    assert failures == [] and calls == [("sgan", 1, 2), ("sgan", 2, 1), ("sgan", 2, 2)]
    assert [r["runs"] for r in read_csv(tmp_path / "results.csv")] == ["3"]


# ---------------------------------------------------------------------------------- executors
@pytest.mark.mnist
def test_parallel_local_workers_split_the_cores(mnist_dir, tmp_path):
    """--workers 2 runs in spawned processes, each with its share of the cores as torch threads."""
    specs = plan(["gia"], [100], [0, 1], baseline=False)
    options = {"steps": 3, "sample_interval": 3, "data_dir": str(mnist_dir)}
    reports, failures = run_sweep(specs, tmp_path, options, workers=2, log=lambda line: None)
    assert failures == []
    assert sorted(r["seed"] for r in reports) == [0, 1]
    assert all(r["steps"] == 3 and r["labels"] == 100 and r["test_size"] == 10000 for r in reports)
    share = max(1, (os.cpu_count() or 1) // 2)  # 1 on a 2-core machine
    assert [r["machine"]["torch_threads"] for r in reports] == [share, share]
    for spec in specs:
        assert (tmp_path / spec.name / "report.json").is_file()
    assert [r["runs"] for r in read_csv(tmp_path / "results.csv")] == ["2"]


@pytest.mark.mnist
def test_ray_executor_runs_the_grid_on_a_ray_instance(mnist_dir, tmp_path, monkeypatch):
    """--executor ray: runs are Ray tasks. Workers started without SGAN_DATA_DIR (as by `ray start`
    in another shell) still get it, and a relative sweep folder reaches them as an absolute path
    (a separate cluster's workers have another working directory)."""
    ray = pytest.importorskip("ray")
    monkeypatch.delenv("SGAN_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    # address="local": a fresh instance, never a cluster found on the machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        monkeypatch.setenv("SGAN_DATA_DIR", str(mnist_dir))  # after the workers were started
        specs = plan(["gia"], [100], [0, 1], baseline=False)
        options = {"steps": 3, "sample_interval": 3, "threads": 1}
        reports, failures = run_sweep(specs, "sweep", options, workers=2, executor="ray",
                                      log=lambda line: None)
    finally:
        ray.shutdown()
    assert failures == []
    assert sorted(r["seed"] for r in reports) == [0, 1]
    assert all(r["steps"] == 3 and r["machine"]["torch_threads"] == 1 for r in reports)
    assert {Path(r["data_source"]) for r in reports} == {mnist_dir}
    sweep = tmp_path.resolve() / "sweep"
    assert {Path(r["run_dir"]) for r in reports} == {sweep / s.name for s in specs}
    assert [r["runs"] for r in read_csv(tmp_path / "sweep" / "results.csv")] == ["2"]


def test_threads_beyond_the_cores_are_refused_before_any_run(tmp_path, tiny_runs, monkeypatch):
    """More torch threads a run than cores: one error before training, not a failure per run."""
    calls = count_steps(monkeypatch)
    monkeypatch.setattr("sgan.sweep.os.cpu_count", lambda: 2)
    specs = plan(["gia"], [20], [0, 1], baseline=False)
    for threads in (3, 0):
        with pytest.raises(ValueError, match=f"threads must be between 1 and this machine's 2 cores, got {threads}"):
            run_sweep(specs, tmp_path / "sweep", {**TINY, "threads": threads}, log=lambda line: None)
    assert calls == []
    assert not (tmp_path / "sweep").exists()


def test_workers_that_oversubscribe_the_cores_are_warned_about(tmp_path, tiny_runs, monkeypatch):
    """Workers x threads above the cores still run, with a warning that names what fits."""
    monkeypatch.setattr("sgan.sweep.os.cpu_count", lambda: 2)
    lines: list[str] = []
    monkeypatch.setattr("sgan.sweep.ProcessPoolExecutor", _SerialPool)
    reports, failures = run_sweep(plan(["gia"], [20], [0, 1], baseline=False), tmp_path / "a", {**TINY, "threads": 2},
                                  workers=2, log=lines.append)
    assert failures == [] and len(reports) == 2
    assert lines[0] == ("warning: 2 workers x 2 threads = 4 threads on 2 cores; "
                        "steps will be much slower (--threads 1 fits)")
    lines.clear()  # more workers than cores: one thread each is still too many
    run_sweep(plan(["gia"], [20], [0, 1, 2], baseline=False), tmp_path / "b", {**TINY, "threads": 1}, workers=3,
              log=lines.append)
    assert lines[0] == ("warning: 3 workers x 1 threads = 3 threads on 2 cores; "
                        "steps will be much slower (--workers 2 --threads 1 fits)")


class _SerialPool:
    """ProcessPoolExecutor's interface, running each task in this process (monkeypatches stay)."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def submit(self, fn, *args):
        from concurrent.futures import Future

        future: Future = Future()
        future.set_result(fn(*args))
        return future

    def shutdown(self, *args, **kwargs) -> None:
        pass


def test_unknown_executor_is_refused(tmp_path):
    """A misspelt executor is an error, not a silently serial sweep."""
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        run_sweep(plan(["gia"], [20], [0], baseline=False), tmp_path, TINY, executor="dask")


# ---------------------------------------------------------------------------------- command line
@pytest.mark.mnist
def test_cli_sweep_prints_the_table_and_a_rerun_skips(mnist_dir, tmp_path):
    """`sgan sweep` trains the grid and prints results.md; the same command again trains nothing."""
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "sgan.cli", "sweep", "--presets", "gia", "--labels", "100",
           "--seeds", "1", "--baseline", "--steps", "3", "--sample-interval", "3", "--threads", "1",
           "--data-dir", str(mnist_dir), "--out", str(out)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert f"sweep: 2 runs into {out}" in first.stdout
    assert "step 3: test accuracy" in first.stdout
    # gia's default precisions: bf16-generator, and float32 for the baseline, which has no generator
    for row in ("| gia | sgan | 100 | bf16-generator | 1 |", "| gia | supervised | 100 | fp32 | 1 |"):
        assert row in first.stdout
    assert first.stdout.rstrip().endswith((out / "results.md").read_text().rstrip())
    for name in ("results.csv", "results.md", "accuracy_vs_labels.png"):
        assert (out / name).is_file(), name

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("(complete, skipped)") == 2
    assert "step 3:" not in again.stdout  # nothing trained
    assert "| gia | sgan | 100 | bf16-generator | 1 |" in again.stdout


@pytest.mark.mnist
def test_sigterm_to_a_parallel_sweep_stops_its_workers(mnist_dir, tmp_path):
    """`kill` (SIGTERM) to `sgan sweep --workers 2` reaches its workers: both running runs save
    a checkpoint and stop, the queued run never starts, and nothing goes on training."""
    import signal
    import subprocess
    import sys
    import time

    cmd = [sys.executable, "-m", "sgan.cli", "sweep", "--presets", "gia", "--labels", "20", "--seeds", "3",
           "--workers", "2", "--steps", "5000", "--sample-interval", "20", "--precision", "fp32",
           "--data-dir", str(mnist_dir), "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = [tmp_path / f"gia-sgan-20-s{s}" for s in range(3)]
    deadline = time.monotonic() + 180
    while not all((r / "checkpoint.pt").is_file() for r in runs[:2]):  # both runs are in their loops
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    for run in runs[:2]:
        assert json.loads((run / "report.json").read_text())["stopped"] == "signal SIGTERM"
    saved = [(r / "checkpoint.pt").stat().st_mtime_ns for r in runs[:2]]
    time.sleep(3)  # a worker left behind would save again (every 20 steps) or start the third run
    assert [(r / "checkpoint.pt").stat().st_mtime_ns for r in runs[:2]] == saved
    assert not runs[2].exists()
