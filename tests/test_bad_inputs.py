"""Bad inputs and faults, each answered in one clear line without losing what was written: one
test (or a case of one) per problem a user met."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from test_cli import assert_one_line_error

from sgan import files
from sgan.checkpoint import CheckpointError, load_checkpoint
from sgan.config import config_from_dict, get_config
from sgan.data import synthetic_split
from sgan.engine import Trainer, TrainingError, TrainingInterrupted, resume, train
from sgan.sweep import plan, run_sweep

CLI = [sys.executable, "-m", "sgan.cli"]


def small(preset: str, out: Path, **kw):
    values = dict(labels=20, steps=4, sample_interval=2, out=str(out), labeled_batch_size=8, unlabeled_batch_size=8,
                  fake_batch_size=8, gen_batch_size=8, baseline_batch_size=8, precision="fp32")
    return get_config(preset, **{**values, **kw})


@pytest.fixture
def same_split(monkeypatch):
    """Every Trainer built without a split (resume, sweeps) gets this one."""
    split = synthetic_split(20, 64, 20)
    monkeypatch.setattr("sgan.engine.make_split", lambda **kw: split)
    return split


# -------------------------------------------------------------------- 2. one run directory, one run
def test_a_second_process_on_the_same_out_is_refused(tmp_path, same_split):
    config = small("gia", tmp_path / "run")
    (tmp_path / "run").mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from sgan.files import run_lock\n"
        f"with run_lock({str(tmp_path / 'run')!r}):\n    print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(TrainingError, match=rf"in use by another sgan process \(pid {holder.pid}\)"):
            train(config, progress=False, split=same_split)
        assert not (tmp_path / "run" / "config.json").exists()  # nothing of the running one was touched
    finally:
        holder.kill()  # a killed run leaves no lock behind
        holder.wait()
    assert train(config, progress=False, split=same_split)["steps"] == 4


def test_resume_refuses_a_checkpoint_from_another_run(tmp_path, same_split):
    train(small("gia", tmp_path / "gia"), progress=False, split=same_split)
    train(small("stacked", tmp_path / "stacked", gen_batch_size=16), progress=False, split=same_split)
    report = (tmp_path / "gia" / "report.json").read_text()
    (tmp_path / "gia" / "checkpoint.pt").write_bytes((tmp_path / "stacked" / "checkpoint.pt").read_bytes())
    with pytest.raises(TrainingError, match=r"gia: its config.json and checkpoint.pt differ in .*model.*preset"):
        resume(tmp_path / "gia", steps=6, progress=False)
    assert (tmp_path / "gia" / "report.json").read_text() == report


def test_resume_refuses_an_edited_config(tmp_path, same_split):
    train(small("gia", tmp_path / "run"), progress=False, split=same_split)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    (tmp_path / "run" / "config.json").write_text(json.dumps({**saved, "lr": 0.5}))
    with pytest.raises(TrainingError, match="differ in lr .*an edited config.json"):
        resume(tmp_path / "run", steps=6, progress=False)


# -------------------------------------------------------------------- 3. sweeps know what a run is
def test_a_sweep_never_counts_a_run_trained_otherwise(tmp_path, same_split):
    specs = plan(["gia"], [20], range(2), baseline=False, precision="fp32")
    options = dict(steps=2, sample_interval=2)
    reports, failures = run_sweep(specs, tmp_path, {**options, "batch_size": 8}, log=lambda s: None)
    assert len(reports) == 2 and not failures
    reports, failures = run_sweep(specs, tmp_path, {**options, "batch_size": 16}, log=lambda s: None)
    assert not reports and len(failures) == 2
    assert "gen_batch_size=8 (this sweep: 16)" in failures[0][1] and "another --out" in failures[0][1]


def test_a_corrupt_report_is_named_and_the_sweep_goes_on(tmp_path, same_split):
    specs = plan(["gia"], [20], range(2), baseline=False, precision="fp32")
    options = dict(steps=2, sample_interval=2, batch_size=8)
    run_sweep(specs, tmp_path, options, log=lambda s: None)
    (tmp_path / specs[0].name / "report.json").write_text("{not json")
    reports, failures = run_sweep(specs, tmp_path, options, log=lambda s: None)
    assert len(reports) == 1 and reports[0]["skipped"]
    assert failures[0][1].startswith(f"ValueError: {tmp_path / specs[0].name / 'report.json'}: corrupt report")


# -------------------------------------------------------------------- 4. every value checked first
@pytest.mark.parametrize(("values", "message"), [
    ({"steps": "abc"}, "steps must be an integer, got 'abc'"),
    ({"labels": "100"}, "labels must be an integer, got '100'"),
    ({"threads": "2"}, "threads must be an integer or null, got '2'"),
    ({"lr": None}, "lr must be a finite number, got None"),
    ({"steps": 20.5}, "steps must be an integer, got 20.5"),
    ({"ema_decay": 5.0}, r"ema_decay must be in \(0, 1\), got 5.0"),
    ({"threads": 0}, "threads must be at least 1, got 0"),
    ({"threads": -1}, "threads must be at least 1, got -1"),
    ({"seed": -1}, r"seed must be between 0 and 2\*\*32 - 1, got -1"),
    ({"compile": 1}, "compile must be true or false, got 1"),
])
def test_config_values_are_checked_before_any_work(values, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        config_from_dict({**get_config("gia").to_dict(), **values})


def test_a_config_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError, match="a config is a JSON object of options, got list"):
        config_from_dict([1, 2])


@pytest.mark.parametrize(("flags", "message"), [
    (["--threads", "-1"], "threads must be at least 1, got -1"),
    (["--threads", "0"], "threads must be at least 1, got 0"),
    (["--threads", "1000"], "threads must be between 1 and this machine's"),
    (["--seed", "-1"], "seed must be between 0 and 2**32 - 1, got -1"),
    (["--preset", "stacked", "--seed", "-1"], "seed must be between 0 and 2**32 - 1, got -1"),
])
def test_impossible_command_line_values_are_one_line_errors(flags, message, tmp_path):
    proc = subprocess.run([*CLI, "train", *flags, "--steps", "1", "--out", str(tmp_path / "r")], capture_output=True,
                          text=True, timeout=300, env={**os.environ, "SGAN_DATA_DIR": str(tmp_path / "nothing")})
    assert_one_line_error(proc, message)


def test_a_config_file_with_bad_values_is_one_line_error(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**get_config("gia").to_dict(), "steps": "abc"}))
    assert_one_line_error(subprocess.run([*CLI, "train", "--config", str(path)], capture_output=True, text=True,
                                  timeout=300), "steps must be an integer, got 'abc'")


def test_no_unlabeled_images_left_is_refused(tmp_path):
    split = synthetic_split(20, 0, 10)
    with pytest.raises(ValueError, match="20 labeled examples leave no unlabeled images for the keras-sgan algorithm"):
        Trainer(small("gia", tmp_path), split=split, progress=False)


# -------------------------------------------------------------------- 6. disk full
def test_a_full_disk_keeps_the_previous_checkpoint_and_leaves_no_temporary_file(tmp_path, monkeypatch, same_split):
    t = Trainer(small("gia", tmp_path / "run"), split=same_split, progress=False)
    t.fit()
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    with pytest.raises(OSError, match=r"cannot write .*checkpoint.pt \(No space left on device\); the previous file"):
        t.save()
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if "tmp" in p.name) == []
    assert load_checkpoint(tmp_path / "run")["step"] == 4


# -------------------------------------------------------------------- 7. exact resume, history too
def test_a_resumed_run_writes_the_same_history(tmp_path, same_split, sigterm_at_step):
    straight = train(small("gia", tmp_path / "a", steps=6, sample_interval=3), progress=False, split=same_split)
    t = Trainer(small("gia", tmp_path / "b", steps=6, sample_interval=3), split=same_split, progress=False)
    sigterm_at_step(t, 4)  # mid-interval: steps 4 and 5 of the second interval are split
    with pytest.raises(TrainingInterrupted):
        t.fit()
    resumed = resume(tmp_path / "b", progress=False)
    assert resumed["test_accuracy"] == straight["test_accuracy"]
    rows = [(tmp_path / d / "history.csv").read_text().splitlines() for d in ("a", "b")]
    strip = [[",".join(c for i, c in enumerate(line.split(",")) if i != 1) for line in r] for r in rows]  # wall time
    assert strip[0] == strip[1]


def test_a_loss_that_is_not_finite_at_step_1_names_no_checkpoint(tmp_path, monkeypatch):
    from sgan import losses

    monkeypatch.setattr(losses, "real_loss", lambda logits: torch.tensor(float("nan"), requires_grad=True))
    with pytest.raises(TrainingError, match="at step 1; stopped, no checkpoint had been written yet"):
        train(small("gia", tmp_path), progress=False, split=synthetic_split(20, 64, 10))
    assert not (tmp_path / "checkpoint.pt").exists()


@pytest.mark.parametrize("delay", [0.3, 0.6, 1.0])
def test_ctrl_c_while_starting_ends_without_a_traceback(tmp_path, delay):
    # Early: sgan and torch are importing; later: the data error is out and torch's exit handlers run.
    # Not earlier: on a loaded machine a signal at 0.1 s lands in the interpreter's own startup,
    # before any sgan code runs (seen under two training runs and the suite at once).
    proc = subprocess.Popen([*CLI, "train", "--steps", "1", "--out", str(tmp_path / "r")], stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "SGAN_DATA_DIR": str(tmp_path)})
    time.sleep(delay)
    if proc.poll() is not None:  # this machine was quick: the command had already ended before the signal
        proc.communicate()
        pytest.skip(f"the command ended within {delay} s")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err and proc.returncode in (130, 1), (proc.returncode, err)


# -------------------------------------------------------------------- 9. messages that help
def test_a_checkpoint_holding_code_is_refused_in_our_words(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("ran",))

    torch.save({"format": "sgan-checkpoint-2", "x": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(tmp_path / "evil.pt")
    assert "could run code when loaded" in str(e.value) and "weights_only" not in str(e.value)


def test_a_network_mismatch_on_resume_is_reported_as_one(tmp_path, same_split):
    train(small("gia", tmp_path / "run"), progress=False, split=same_split)
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    state["discriminator"] = {k: v[..., :1] if v.dim() else v for k, v in state["discriminator"].items()}
    torch.save(state, tmp_path / "run" / "checkpoint.pt")
    with pytest.raises(CheckpointError, match="discriminator weights do not match the network"):
        resume(tmp_path / "run", steps=6, progress=False)


def test_folders_may_be_given_as_paths_from_python(tmp_path):
    config = get_config("gia", out=tmp_path / "run", data_dir=tmp_path)
    assert (config.out, config.data_dir) == (str(tmp_path / "run"), str(tmp_path))
