"""benchmarks/reproduce.py: the published table holds runs that trained their preset's whole
schedule, never one staged with fewer steps on its way there."""

import csv
import json
import os
from pathlib import Path

import pytest


def write_report(root, name, method, steps, accuracy, preset="gia", **fields):
    run = root / name
    run.mkdir(parents=True)
    report = {
        "preset": preset, "method": method, "labels": 100, "seed": int(name[-1]), "steps": steps,
        "precision": "fp32", "test_accuracy": accuracy, "test_errors": round(10000 * (1 - accuracy)),
        "wall_seconds": 10.0, "seconds_per_step": 10.0 / steps, "labeled_indices_sha256": "ab",
        "machine": {"cpu": "Test CPU", "cores": 2, "torch_threads": 2}, "torch_version": "9.9.9",
        "per_class_accuracy": [accuracy] * 10, "labeled_class_counts": [10] * 10, "run_dir": str(run), **fields,
    }
    (run / "report.json").write_text(json.dumps(report))


def test_publish_keeps_only_runs_of_the_full_schedule(tmp_path, load_benchmark, monkeypatch):
    reproduce = load_benchmark("reproduce")
    results = tmp_path / "results"
    monkeypatch.setattr(reproduce, "RESULTS", results)
    monkeypatch.setattr(reproduce, "REPORTS", results / "reports")
    out = tmp_path / "runs"
    write_report(out, "gia-sgan-100-s0", "sgan", 8000, 0.90)
    write_report(out, "gia-sgan-100-s1", "sgan", 8000, 0.80)
    write_report(out, "gia-sgan-100-s2", "sgan", 4000, 0.50)  # staged at half the schedule
    write_report(out, "gia-supervised-100-s0", "supervised", 120, 0.70)  # 30 epochs of 4 batches

    table = reproduce.publish(out)
    assert "| gia | sgan | 100 | fp32 | 2 | 85.00 ± 7.07 | 1500 ± 707 | 8000 | 10 |" in table
    assert "| gia | supervised | 100 | fp32 | 1 | 70.00 ± 0.00 |" in table
    assert "4000" not in table
    assert sorted(p.name for p in (results / "reports").iterdir()) == [
        "gia-sgan-100-s0.json", "gia-sgan-100-s1.json", "gia-supervised-100-s0.json"]
    with open(results / "reproduction_runs.csv", newline="") as f:
        assert sorted((r["method"], r["seed"]) for r in csv.DictReader(f)) == [
            ("sgan", "0"), ("sgan", "1"), ("supervised", "0")]


def test_label_seeds_pair_each_subset_with_its_seed_or_cross_with_seeds(load_benchmark):
    """--label-seeds alone: subset k trains with seed k; with --seeds N: every subset, seeds 0..N-1."""
    reproduce = load_benchmark("reproduce")
    assert reproduce.seed_list("3,4,0-2") == [3, 4, 0, 1, 2]
    paired = reproduce.runs(["improved-fast"], None, [3, 0], baseline=False, precision=None)
    assert [s.name for s in paired] == ["improved-fast-sgan-100-L3-s3-bf16", "improved-fast-sgan-100-L0-s0-bf16"]
    crossed = reproduce.runs(["improved-fast"], 2, [0], baseline=False, precision="fp32")
    assert [(s.label_seed, s.seed, s.name) for s in crossed] == [
        (0, 0, "improved-fast-sgan-100-L0-s0"), (0, 1, "improved-fast-sgan-100-L0-s1")]
    assert [s.name for s in reproduce.runs(["gia"], 1, None, baseline=False, precision="fp32")] == ["gia-sgan-100-s0"]


def test_published_runs_name_their_labeled_subset(tmp_path, load_benchmark, monkeypatch):
    """reproduction_runs.csv has a label_seed column (older reports: their seed), and
    label_subsets.md tabulates each subset and each subset's training seeds with mean ± std."""
    reproduce = load_benchmark("reproduce")
    results = tmp_path / "results"
    monkeypatch.setattr(reproduce, "RESULTS", results)
    monkeypatch.setattr(reproduce, "REPORTS", results / "reports")
    out = tmp_path / "runs"
    steps = 60000
    sevens_lost = [0.995] * 7 + [0.90, 0.995, 0.995]
    write_report(out, "improved-fast-sgan-100-L3-s3", "sgan", steps, 0.990, "improved-fast", label_seed=3,
                 per_class_accuracy=sevens_lost, labeled_indices_sha256="L3")
    # the same run planned with --seeds: one row, not two
    write_report(out, "improved-fast-sgan-100-s3", "sgan", steps, 0.990, "improved-fast", label_seed=3,
                 per_class_accuracy=sevens_lost, labeled_indices_sha256="L3")
    write_report(out, "improved-fast-sgan-100-L4-s4", "sgan", steps, 0.994, "improved-fast", label_seed=4)
    write_report(out, "improved-fast-sgan-100-L3-s0", "sgan", steps, 0.986, "improved-fast", label_seed=3,
                 labeled_indices_sha256="L3")
    # written before label_seed was recorded, and a first-N draw (one subset whatever the seed)
    write_report(out, "gia-sgan-100-s2", "sgan", 8000, 0.90, labeled_class_counts=[13, 14, 6, 11, 11, 5, 11, 10, 8, 11])

    reproduce.publish(out)
    with open(results / "reproduction_runs.csv", newline="") as f:
        rows = {(r["preset"], r["seed"], r["label_seed"]) for r in csv.DictReader(f)}
    assert rows == {("improved-fast", "3", "3"), ("improved-fast", "4", "4"), ("improved-fast", "0", "3"),
                    ("gia", "2", "2")}
    tables = (results / "label_subsets.md").read_text()
    assert "--presets improved-fast --precision fp32 --label-seeds 3,4 --no-baseline" in tables  # not its bf16
    assert "| 3 | 3 | 99.00% | 100 | 90.0% | 7 (90.0%) |" in tables and tables.count("| 3 | 3 |") == 2  # two tables
    assert "gia" not in tables
    # subsets 3 and 4: 99.0 and 99.4 -> mean 99.20, std (ddof 1) 0.28; errors 100 and 60 -> 80.0 ± 28.3
    assert "2 run(s): **99.20 ± 0.28%**, 80.0 ± 28.3 errors; lowest 99.00%; 2 of 2 at 99.00% or more." in tables
    # label seed 3 with seeds 0 and 3: no command, as --seeds 2 would train seeds 0 and 1
    assert "label seed 3, several training seeds" in tables and "--seeds 2" not in tables
    assert "2 run(s): **98.80 ± 0.28%**" in tables


def test_label_seeds_refuse_what_is_not_a_list_of_seeds(load_benchmark):
    import argparse

    reproduce = load_benchmark("reproduce")
    assert reproduce.seed_list("0-3,2,7") == [0, 1, 2, 3, 7]
    for bad in ("5-3", "3-", "a-b", "", "-1", "0--1"):
        with pytest.raises(argparse.ArgumentTypeError, match="give seeds as 0-9 or 3,4,0"):
            reproduce.seed_list(bad)


def test_published_reports_name_the_run_as_the_sweep_does_not_this_machines_folder(tmp_path, load_benchmark,
                                                                                  monkeypatch):
    reproduce = load_benchmark("reproduce")
    monkeypatch.setattr(reproduce, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(reproduce, "REPORTS", tmp_path / "results" / "reports")
    monkeypatch.chdir(tmp_path)
    write_report(tmp_path / "runs", "gia-sgan-100-s0", "sgan", 8000, 0.90)  # trained with an absolute --out
    reproduce.publish(Path("runs"))
    published = json.loads((tmp_path / "results" / "reports" / "gia-sgan-100-s0.json").read_text())
    assert published["run_dir"] == "runs/gia-sgan-100-s0" and published["test_accuracy"] == 0.90


def test_threads_sets_each_runs_torch_threads_else_the_workers_share_the_cores(tmp_path, load_benchmark,
                                                                              monkeypatch, capsys):
    """--threads 1 beside another job keeps the total within the cores; without it the sweep
    divides the cores among its workers."""
    reproduce = load_benchmark("reproduce")
    monkeypatch.setattr(reproduce, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(reproduce, "REPORTS", tmp_path / "results" / "reports")
    seen = []
    monkeypatch.setattr(reproduce, "run_sweep", lambda specs, out, options, workers: seen.append(
        (options, workers)) or ([], []))
    (tmp_path / "runs").mkdir()
    argv = ["reproduce.py", "--presets", "gia", "--seeds", "1", "--no-baseline", "--out", str(tmp_path / "runs")]
    for extra, threads in ((["--threads", "1"], 1), ([], None)):
        monkeypatch.setattr("sys.argv", argv + extra)
        assert reproduce.main() == 0
        assert seen[-1] == ({"threads": threads} if threads else {}, 1)
    for bad in ("0", str((os.cpu_count() or 1) + 1)):
        monkeypatch.setattr("sys.argv", argv + ["--threads", bad])
        with pytest.raises(SystemExit):
            reproduce.main()
    assert capsys.readouterr().err.strip().endswith(f"--threads must be between 1 and this machine's "
                                                     f"{os.cpu_count() or 1} cores, got {bad}")
    assert len(seen) == 2  # nothing was trained
