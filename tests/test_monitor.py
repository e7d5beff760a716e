"""A failing run says so, from training signals only: each failure forced, each warning checked."""

import json

import torch

from sgan.algorithms.keras_sgan import KerasSGAN
from sgan.config import get_config
from sgan.data import synthetic_split
from sgan.engine import Trainer
from sgan.monitor import Monitor


def row(step: int, **losses: float) -> dict[str, float]:
    return {"step": step, **{f"{k}_loss": v for k, v in losses.items()}}


def test_a_discriminator_that_wins_for_three_evaluations_is_reported_once():
    m = Monitor()
    assert m.check(row(100, d_unsup=0.005)) == [] and m.check(row(200, d_unsup=0.004)) == []
    assert m.check(row(300, d_unsup=0.5)) == []  # the run of low losses is broken
    for step in (400, 500):
        assert m.check(row(step, d_unsup=0.001)) == []
    (warning,) = m.check(row(600, d_unsup=0.001))
    assert warning.startswith("the discriminator wins outright") and "steps 400-600" in warning
    assert m.check(row(700, d_unsup=0.001)) == [] and len(m.warnings) == 1


def test_finite_losses_that_blow_up_are_reported():
    (warning,) = Monitor().check(row(50, d_sup=0.1, g=1.2e8))
    assert warning.startswith("losses blew up: g 1.2e+08 at step 50")


def test_a_collapsed_generator_is_reported_and_a_diverse_one_is_not():
    real = torch.rand(100, 1, 28, 28)
    (warning,) = Monitor().check(row(10), fake=torch.full((100, 1, 28, 28), 0.3) + 1e-4 * torch.rand(100, 1, 28, 28),
                                 real=real)
    assert warning.startswith("the generator collapsed")
    assert Monitor().check(row(10), fake=torch.rand(100, 1, 28, 28), real=real) == []


def test_warnings_reach_the_progress_output_report_and_checkpoint(tmp_path, monkeypatch, capsys):
    config = get_config("gia", out=str(tmp_path), steps=6, sample_interval=2, labeled_batch_size=8,
                        unlabeled_batch_size=8, fake_batch_size=8, gen_batch_size=8)
    t = Trainer(config, split=synthetic_split(20, 64, 10), progress=False)
    monkeypatch.setattr(KerasSGAN, "step", lambda self, batch: {"d_sup": 0.1, "d_unsup": 1e-4, "g": 3e7, "acc": 1.0})
    monkeypatch.setattr(t.generator, "forward", lambda z: torch.zeros(len(z), 1, 28, 28))
    result = t.fit()
    kinds = [w.split(":")[0] for w in result["warnings"]]
    assert kinds == ["losses blew up", "the generator collapsed", "the discriminator wins outright"]
    out = capsys.readouterr().out
    assert all(f"warning: {kind}" in out for kind in kinds)
    assert json.loads((tmp_path / "report.json").read_text())["warnings"] == result["warnings"]
    assert "## Warnings" in (tmp_path / "report.md").read_text()
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["warnings"] == result["warnings"]
