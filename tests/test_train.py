"""The training step and loop on small synthetic data: isolation of the three updates, label
accounting, checkpoints, resume, reproducibility, divergence and signals."""

from pathlib import Path

import pytest
import torch

from sgan import data, losses
from sgan.algorithms.base import frozen
from sgan.checkpoint import CheckpointError, load_checkpoint
from sgan.config import get_config, run_config
from sgan.data import SemiSupervisedSplit
from sgan.engine import Trainer, TrainingError, TrainingInterrupted, resume, train
from sgan.inference import load_networks


def synthetic_split(n_lab: int = 20, n_unl: int = 64, n_test: int = 40,
                    pixel_range: str = "tanh") -> SemiSupervisedSplit:
    return data.synthetic_split(n_lab, n_unl, n_test, pixel_range)


def small(preset: str, tmp_path: Path, **kw) -> dict:
    values = dict(labels=20, steps=4, sample_interval=2, out=str(tmp_path / "run"), labeled_batch_size=8,
                  unlabeled_batch_size=8, fake_batch_size=8, gen_batch_size=8, baseline_batch_size=8)
    if preset == "stacked":
        values["gen_batch_size"] = 16
    return get_config(preset, **{**values, **kw})


def snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict, after: dict) -> set[str]:
    return {k for k in before if not torch.equal(before[k], after[k])}


@pytest.mark.parametrize("preset", ["gia", "stacked", "improved"])
def test_each_update_moves_only_what_it_should(preset, tmp_path):
    split = synthetic_split(pixel_range="unit" if preset == "improved" else "tanh")
    t = Trainer(small(preset, tmp_path), split=split, progress=False)
    G, D, opts = t.generator, t.discriminator, t.algorithm.optimizers()
    events = []

    def record(name):
        def hook(opt, args, kwargs):
            events.append((name, snapshot(G), snapshot(D)))
        return hook

    for name, opt in opts.items():
        opt.register_step_post_hook(record("g" if name == "opt_g" else "d"))
    g0, d0 = snapshot(G), snapshot(D)
    t.step()
    names = [e[0] for e in events]
    # the tutorials: supervised, real, fake, generator; improved-gan: one joint D update
    assert names == (["d", "g"] if preset == "improved" else ["d", "d", "d", "g"])
    # the book's two compiled Keras models keep two Adam states; tf.keras shares one
    assert ("opt_unsup" in opts) == (preset == "gia")
    g_prev, d_prev = g0, d0
    for name, g_now, d_now in events:
        if name == "g":
            assert changed(g_prev, g_now), "generator update did not move the generator"
            assert not changed(d_prev, d_now), "generator update moved the discriminator"
        else:
            assert changed(d_prev, d_now), f"{name} update did not move the discriminator"
            # generator buffers may move (BatchNorm statistics of the forward pass), weights not
            stats = ("running_mean", "running_var", "num_batches_tracked")
            moved = {k for k in changed(g_prev, g_now) if not k.endswith(stats)}
            assert not moved, f"{name} update moved generator weights {moved}"
        g_prev, d_prev = g_now, d_now
    assert all(p.requires_grad for p in D.parameters()), "the generator update left D frozen"


def test_frozen_discriminator_uses_batch_statistics_without_updating_them():
    cfg = get_config("gia")
    from sgan.models import build_discriminator

    D = build_discriminator(cfg.model).train()
    x = torch.randn(16, 1, 28, 28)
    D(x)  # move the running statistics away from their initial values
    before = snapshot(D)
    with frozen(D, batch_stats=True):
        out_batch = D.body[:5](x)
        assert not any(p.requires_grad for p in D.parameters())
    assert not changed(before, snapshot(D))
    # batch statistics: the BN output over the batch is standardised per channel
    bn_out = D.body[:4](x)
    assert bn_out.mean((0, 2, 3)).abs().max() < 1e-4
    with frozen(D, batch_stats=False):  # Keras 3: inference mode
        out_eval = D.body[:5](x)
    assert not torch.allclose(out_batch, out_eval)
    assert all(m.training for m in D.modules())


def test_supervised_baseline_has_no_generator_and_sees_only_labels(tmp_path):
    t = Trainer(small("gia", tmp_path, method="supervised", baseline_steps=3), split=synthetic_split(), progress=False)
    assert t.generator is None and list(t.algorithm.optimizers()) == ["opt_sup"]
    batch = t.next_batch()
    assert batch.x_unl is None and batch.x_match is None
    result = t.fit()
    assert result["method"] == "supervised" and result["steps"] == 3


def test_trainer_never_sees_more_labels_than_asked(tmp_path, monkeypatch):
    split = synthetic_split(n_lab=20)
    t = Trainer(small("gia", tmp_path, labeled_batch_size=16), split=split, progress=False)
    seen = []
    original = t.step

    def spy(batch=None):
        batch = batch or t.next_batch()
        seen.append((batch.x_lab, batch.y_lab))
        return original(batch)

    monkeypatch.setattr(t, "step", spy)
    t.fit()
    pairs = zip(split.labeled_images, split.labeled_targets, strict=True)
    labeled = {tuple(img.flatten()[:8].tolist()): int(y) for img, y in pairs}
    for x_lab, y_lab in seen:
        for img, y in zip(x_lab, y_lab, strict=True):
            key = tuple(img.flatten()[:8].tolist())
            assert key in labeled and labeled[key] == int(y)
    # nothing the trainer holds carries more labels than the labeled set
    int_tensors = [v for v in vars(t.split).values() if isinstance(v, torch.Tensor) and not v.is_floating_point()]
    assert sorted(len(v) for v in int_tensors) == sorted([20, len(split.test_targets)])


def test_label_seed_fixes_the_labeled_subset_while_the_seed_varies_the_rest(tmp_path, monkeypatch):
    """As improved-gan's --seed_data and --seed: the labeled draw follows label_seed, the
    initialisation follows seed, and the report records both."""
    drawn = []

    def split(**kw):
        drawn.append(kw["seed"])
        return synthetic_split()

    monkeypatch.setattr("sgan.engine.make_split", split)
    same_labels = Trainer(small("improved", tmp_path, seed=3), progress=False)
    other_init = Trainer(small("improved", tmp_path, seed=13, label_seed=3, out=str(tmp_path / "b")), progress=False)
    assert drawn == [3, 3]
    assert changed(snapshot(same_labels.discriminator), snapshot(other_init.discriminator))
    report = other_init.fit()
    assert (report["seed"], report["label_seed"]) == (13, 3)
    assert Trainer(small("improved", tmp_path, seed=5), progress=False).fit()["label_seed"] == 5


def test_checkpoint_round_trip_and_weights_only(tmp_path):
    cfg = small("gia", tmp_path)
    t = Trainer(cfg, split=synthetic_split(), progress=False)
    result = t.fit()
    path = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(path, weights_only=True)  # loads without unpickling code
    assert state["step"] == 4
    _, _, G, D = load_networks(path)
    x = synthetic_split().test_images
    torch.testing.assert_close(D(x), t.discriminator.eval()(x))
    for name in ("config.json", "report.json", "history.csv", "samples.png", "curves.png", "confusion.png",
                 "report.md"):
        assert (tmp_path / "run" / name).is_file(), name
    for key in ("preset", "method", "labels", "seed", "steps", "test_accuracy", "labeled_train_accuracy",
                "per_class_accuracy", "labeled_indices_sha256", "wall_seconds", "torch_version"):
        assert key in result
    assert (result["precision"], result["compile"]) == (cfg.precision, False)  # how the figures were made


@pytest.mark.parametrize("preset", ["gia", "improved"])
def test_seeded_runs_reproduce_and_resume_continues_exactly(preset, tmp_path, monkeypatch):
    pixel_range = "unit" if preset == "improved" else "tanh"
    split = synthetic_split(pixel_range=pixel_range)
    monkeypatch.setattr("sgan.engine.make_split", lambda **kw: split)
    straight = Trainer(small(preset, tmp_path / "a", steps=6), split=split, progress=False)
    straight.fit()
    again = Trainer(small(preset, tmp_path / "b", steps=6), split=split, progress=False)
    again.fit()
    halves = Trainer(small(preset, tmp_path / "c", steps=3), split=split, progress=False)
    halves.fit()
    result = resume(tmp_path / "c" / "run", steps=6, progress=False)
    assert result["steps"] == 6
    final = load_checkpoint(tmp_path / "c" / "run")
    for key, value in straight.discriminator.state_dict().items():
        torch.testing.assert_close(again.discriminator.state_dict()[key], value, rtol=0, atol=0)
        torch.testing.assert_close(final["discriminator"][key], value, rtol=0, atol=0)
    with pytest.raises(TrainingError, match="already complete"):
        resume(tmp_path / "c" / "run", progress=False)


def test_non_finite_loss_stops_with_message_and_keeps_last_good_checkpoint(tmp_path, monkeypatch):
    cfg = small("gia", tmp_path, steps=6)
    t = Trainer(cfg, split=synthetic_split(), progress=False)
    calls = {"n": 0}
    real = losses.real_loss

    def poisoned(logits):
        calls["n"] += 1
        return real(logits) * (float("nan") if calls["n"] > 6 else 1.0)  # 2 calls a step: from step 4

    monkeypatch.setattr(losses, "real_loss", poisoned)
    with pytest.raises(TrainingError, match=r"non-finite .* at step 4.*step 2\)"):
        t.fit()
    state = load_checkpoint(tmp_path / "run")
    assert state["step"] == 2
    assert all(torch.isfinite(v).all() for v in state["discriminator"].values() if v.is_floating_point())


def test_sigterm_saves_a_checkpoint_that_resumes(tmp_path, monkeypatch, sigterm_at_step):
    split = synthetic_split()
    monkeypatch.setattr("sgan.engine.make_split", lambda **kw: split)
    t = Trainer(small("gia", tmp_path, steps=8, sample_interval=100), split=split, progress=False)
    sigterm_at_step(t, 2)
    with pytest.raises(TrainingInterrupted, match="SIGTERM at step 3"):
        t.fit()
    assert load_checkpoint(tmp_path / "run")["step"] == 3
    assert resume(tmp_path / "run", progress=False)["steps"] == 8


def test_bad_checkpoints_get_clear_errors(tmp_path):
    missing = tmp_path / "nope.pt"
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_checkpoint(missing)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(garbage)
    t = Trainer(small("gia", tmp_path, steps=2), split=synthetic_split(), progress=False)
    t.fit()
    good = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(truncated)
    # a gia checkpoint whose config claims the stacked networks
    state = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    state["config"]["model"] = "stacked"
    torch.save(state, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not match"):
        load_networks(tmp_path / "mismatch.pt")


def test_impossible_settings_are_refused(tmp_path):
    with pytest.raises(ValueError, match="steps must be positive"):
        Trainer(small("gia", tmp_path, steps=0), split=synthetic_split(), progress=False)
    with pytest.raises(ValueError, match="algorithm must be one of keras-sgan, feature-matching; got 'both'"):
        Trainer(small("gia", tmp_path, algorithm="both"), split=synthetic_split(), progress=False)
    with pytest.raises(ValueError, match="one batch: it needs a discriminator without BatchNorm"):
        Trainer(small("gia", tmp_path, algorithm="feature-matching", fake_mode="train"), split=synthetic_split(),
                progress=False)
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda, cuda:N or mps; got 'gpu'"):
        Trainer(small("gia", tmp_path, device="gpu"), split=synthetic_split(), progress=False)
    with pytest.raises(ValueError, match="fake_batch_size"):
        Trainer(small("stacked", tmp_path, fake_batch_size=32), split=synthetic_split(), progress=False)


@pytest.mark.mnist
def test_short_real_mnist_run_beats_chance(mnist_dir, tmp_path):
    """gia, 200 steps of batch 32 on real MNIST: measured 69.8% (seed 0) and 69.6% (seed 1); chance is 10%."""
    cfg = get_config("gia", steps=200, sample_interval=200, data_dir=str(mnist_dir), out=str(tmp_path / "run"))
    result = train(cfg, progress=False)
    assert result["labels"] == 100 and result["unlabeled_pool"] == 59900
    assert result["test_accuracy"] > 0.5


def test_ema_warms_up_then_averages_with_the_configured_decay():
    from sgan.engine import ema_with_warmup

    update = ema_with_warmup(0.9999)
    ema, cur = [torch.zeros(3)], [torch.ones(3)]
    update(ema, cur, torch.tensor(0))  # first update: decay min(0.9999, 1/10) = 0.1
    torch.testing.assert_close(ema[0], torch.full((3,), 0.9))
    ema = [torch.zeros(3)]
    update(ema, cur, torch.tensor(10**7))  # late: the plain decay
    torch.testing.assert_close(ema[0], torch.full((3,), 1e-4))


@pytest.mark.parametrize("preset", ["gia", "stacked"])
def test_bf16_updates_each_see_the_current_weights(preset, tmp_path):
    """In bf16 each discriminator pass must use the weights the previous update left, not a
    bf16 copy cached at the step's first pass (autocast's cast cache lives as long as its context)."""
    t = Trainer(small(preset, tmp_path, precision="bf16", lr=0.5), split=synthetic_split(), progress=False)
    conv = next(m for m in t.discriminator.modules() if isinstance(m, torch.nn.Conv2d))
    gaps = []

    def check(module, inputs, output):
        with torch.autocast("cpu", enabled=False):
            b16 = torch.bfloat16
            fresh = torch.nn.functional.conv2d(inputs[0].to(b16), module.weight.to(b16), module.bias.to(b16),
                                               module.stride, module.padding)
        gaps.append((output.float() - fresh.float()).abs().max().item())

    conv.register_forward_hook(check)
    t.step()
    assert len(gaps) >= 3  # supervised, real and fake updates, then the generator's pass
    assert max(gaps) < 1e-2, gaps


@pytest.mark.parametrize("precision, g_dtype, d_dtype", [
    ("fp32", torch.float32, torch.float32),
    ("bf16", torch.bfloat16, torch.bfloat16),
    ("bf16-generator", torch.bfloat16, torch.float32),
])
def test_precision_sets_each_network_dtype(precision, g_dtype, d_dtype, tmp_path):
    """bf16-generator computes the generator in bf16 and the classifier, on float32 images, in float32."""
    t = Trainer(small("gia", tmp_path, precision=precision), split=synthetic_split(), progress=False)
    seen: dict[str, set] = {"G": set(), "D": set(), "D input": set()}

    def record(name):
        def hook(module, inputs, output):
            seen[name].add(output.dtype)
            if name == "D":
                seen["D input"].add(inputs[0].dtype)
        return hook

    for name, net in (("G", t.generator), ("D", t.discriminator)):
        for m in net.modules():
            if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)):
                m.register_forward_hook(record(name))
    t.step()
    assert seen["G"] == {g_dtype}
    assert seen["D"] == {d_dtype}
    if precision == "bf16-generator":
        assert seen["D input"] == {torch.float32}  # generated images reach the classifier as float32
    assert t.generated(t.noise(4)).dtype == torch.float32


def test_gia_baseline_trains_the_notebooks_30_epochs_at_any_label_count(tmp_path):
    """The book's baseline is fit(epochs=30, batch_size=32): its length follows the label count,
    so a label sweep compares every SGAN with the same supervised recipe."""
    assert [get_config("gia", method="supervised", labels=n).baseline_length for n in (20, 100, 1000)] == [30, 120, 960]
    assert get_config("gia", method="supervised", baseline_steps=7).baseline_length == 7  # explicit steps win
    assert run_config("gia", "supervised", steps=5, labels=1000).baseline_length == 5
    t = Trainer(small("gia", tmp_path, method="supervised", labels=20, baseline_batch_size=8, baseline_epochs=2),
                split=synthetic_split(n_lab=20), progress=False)
    assert t.fit()["steps"] == 2 * 3  # two passes of batches 8, 8, 4
    with pytest.raises(ValueError, match="baseline_epochs must be positive"):
        get_config("gia", baseline_epochs=0).validate()
