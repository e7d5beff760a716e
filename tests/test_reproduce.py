"""benchmarks/reproduce.py: the published table holds runs that trained their preset's whole
schedule, never one staged with fewer steps on its way there."""

import csv
import json


def write_report(root, name, method, steps, accuracy):
    run = root / name
    run.mkdir(parents=True)
    report = {
        "preset": "gia", "method": method, "labels": 100, "seed": int(name[-1]), "steps": steps,
        "precision": "fp32", "test_accuracy": accuracy, "test_errors": round(10000 * (1 - accuracy)),
        "wall_seconds": 10.0, "seconds_per_step": 10.0 / steps, "labeled_indices_sha256": "ab",
        "machine": {"cpu": "Test CPU", "cores": 2, "torch_threads": 2}, "torch_version": "9.9.9",
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
