"""benchmarks/speed.py's time to accuracy on hand-written run folders."""


def test_time_to_accuracy(tmp_path, load_benchmark):
    history = tmp_path / "history.csv"
    history.write_text(
        "step,wall_seconds,d_sup_loss,test_accuracy\n"
        "800,41.5,0.9,0.7512\n"
        "1600,83.25,0.5,0.8900\n"  # reaches 0.89 exactly: >= counts
        "2400,125.0,0.4,0.8850\n"  # a dip below 0.89 does not undo it
        "3200,166.75,0.3,0.9301\n"
    )
    result = load_benchmark("speed").time_to_accuracy(history, [0.5, 0.89, 0.93, 0.95])
    assert result == {0.5: (800, 41.5), 0.89: (1600, 83.25), 0.93: (3200, 166.75), 0.95: None}
    assert isinstance(result[0.89][0], int)


def test_time_to_accuracy_converts_steps_at_the_clean_speed_of_the_runs_configuration(tmp_path, load_benchmark):
    """A run that shared the cores took longer than it needs; the report also gives steps x the
    idle-machine ms/step of the run's own preset, method and precision."""
    import json

    run = tmp_path / "run"
    run.mkdir()
    (run / "history.csv").write_text("step,wall_seconds,test_accuracy\n600,90.0,0.80\n1200,180.0,0.90\n")
    (run / "config.json").write_text(json.dumps({"preset": "gia", "method": "sgan", "precision": "bf16"}))
    speed = tmp_path / "speed.json"
    speed.write_text(json.dumps({"results": [
        {"preset": "gia", "method": "sgan", "precision": "fp32", "compile": False, "median_ms": 44.0},
        {"preset": "gia", "method": "sgan", "precision": "bf16", "compile": False, "median_ms": 30.0},
    ]}))
    module = load_benchmark("speed")
    report = module.time_to_accuracy_report([str(run)], [0.85, 0.95], speed)
    row = report["runs"][0]
    assert row["clean_ms_per_step"] == 30.0
    assert row["targets"]["0.85"] == {"step": 1200, "wall_seconds": 180.0, "clean_seconds": 36.0}
    assert row["targets"]["0.95"] is None
    _, rows = module._tta_rows(report)
    assert rows[0][3:] == ["1200 / 3:00 / 36.0 s", "not reached"]
    # without a speed file the clean column is a dash, not an error
    no_speed = module.time_to_accuracy_report([str(run)], [0.85], None)["runs"][0]
    assert no_speed["targets"]["0.85"]["clean_seconds"] is None
