"""benchmarks/curves.py: per-epoch curves of runs in progress and the first epoch at a target."""


def write_run(root, name, rows):
    run = root / name
    run.mkdir()
    lines = ["step,wall_seconds,d_sup_loss,test_accuracy"] + [f"{s},{s / 10},0.1,{a}" for s, a in rows]
    (run / "history.csv").write_text("\n".join(lines) + "\n")
    return run


def test_curves_of_runs_in_progress(tmp_path, load_benchmark, capsys):
    curves = load_benchmark("curves")
    a = write_run(tmp_path, "s0", [(600, 0.90), (1200, 0.981), (1800, 0.975), (2400, 0.992)])
    b = write_run(tmp_path, "s1", [(300, 0.5), (600, 0.95), (1200, 0.97)])  # a mid-epoch row is ignored
    assert curves.read_curve(b, 600) == {1: 0.95, 2: 0.97}
    assert curves.first_epoch(curves.read_curve(a, 600), 0.98) == 2  # a later dip does not undo it
    assert curves.first_epoch(curves.read_curve(a, 600), 0.995) is None

    out = tmp_path / "curve.csv"
    assert curves.main([str(a), str(b), "--epochs", "1,2,3", "--csv", str(out)]) == 0
    table = capsys.readouterr().out
    assert "| 1 | 90.00 | 95.00 | 92.50 ± 3.54 |" in table
    assert "| 4 | 99.20 | - | - |" in table  # the last epoch is shown; no mean over fewer runs
    # errors out of 10000 at epoch 2: 190 and 300
    assert ("At epoch 2, the last every run has reached: 97.55 ± 0.78% test accuracy, 245 ± 78 test errors / "
            "10000 (mean ± std over 2 runs).") in table
    assert "| s0 | 4 | 99.20% | 99.20% | 2 | 4 |" in table
    assert "| s1 | 2 | 97.00% | 97.00% | not reached | not reached |" in table
    assert out.read_text().splitlines() == ["epoch,s0,s1", "1,0.9000,0.9500", "2,0.9810,0.9700", "3,0.9750,",
                                            "4,0.9920,"]


def test_curves_errors_are_one_line(tmp_path, load_benchmark, capsys):
    curves = load_benchmark("curves")
    assert curves.main([str(tmp_path / "missing")]) == 1
    assert "no history.csv" in capsys.readouterr().err
    run = write_run(tmp_path, "odd", [(250, 0.5)])
    assert curves.main([str(run)]) == 1
    assert "wrong --steps-per-epoch" in capsys.readouterr().err
