"""Tests for the Salimans et al. 2016 MNIST networks (sgan.models.improved).

They check what the trainer relies on: shapes and ranges, the weight-norm data-dependent
initialization, and that the Gaussian noise (the discriminator's regularizer) is on in training
and off in evaluation, as in openai/improved-gan train_mnist_feature_matching.py.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor, nn

from sgan.models.improved import (
    BatchNormShift,
    GaussianNoise,
    ImprovedDiscriminator,
    ImprovedGenerator,
    WeightNormLinear,
)

B, K = 7, 10
INIT_BATCH = 500  # the reference's data-dependent init batch: trainx[:500]

# Tolerances for the init statistics. After `initialize` the pre-activations on the init batch
# are exactly normalized in exact arithmetic; what is left is float32 rounding of dot products
# over at most 1000 inputs and of means over 500 rows, ~1e-6 relative on values of order 1.
# 1e-4 (mean) and 1e-3 (std) leave a wide margin yet are far below the un-initialized values
# (first-layer std ~0.29 on U(0,1) pixels, means of order 1), so the test is not vacuous.
MEAN_TOL = 1e-4
STD_TOL = 1e-3


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _wn_layers(d: ImprovedDiscriminator) -> list[WeightNormLinear]:
    return [m for m in d.modules() if isinstance(m, WeightNormLinear)]


def _preactivations(d: ImprovedDiscriminator, x: Tensor) -> list[Tensor]:
    """Run d on x and return every WeightNormLinear's output (its pre-activation)."""
    outs: list[Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, o: outs.append(o)) for m in _wn_layers(d)]
    try:
        with torch.no_grad():
            d(x)
    finally:
        for h in hooks:
            h.remove()
    return outs


def _assert_normalized(pre: list[Tensor]) -> None:
    assert [p.shape[1] for p in pre] == [1000, 500, 250, 250, 250, K]
    for p in pre:
        assert p.mean(0).abs().max().item() < MEAN_TOL
        std = p.std(0, unbiased=False)  # the reference normalizes the population std
        assert (std - 1).abs().max().item() < STD_TOL


@pytest.mark.parametrize("training", [True, False])
def test_shapes_and_range(training: bool) -> None:
    d, g = ImprovedDiscriminator(num_classes=K), ImprovedGenerator()
    d.train(training)
    g.train(training)
    x = torch.rand(B, 1, 28, 28)
    assert d(x).shape == (B, K)
    features, logits = d.features_and_logits(x)
    assert features.shape == (B, 250) and d.feature_dim == 250
    assert logits.shape == (B, K)
    assert (features >= 0).all()  # taken after the ReLU, before the noise
    imgs = g(torch.rand(B, 100))
    assert imgs.shape == (B, 1, 28, 28)
    assert imgs.min() >= 0 and imgs.max() <= 1


def test_features_match_logits_pass_in_eval() -> None:
    d = ImprovedDiscriminator().eval()
    x = torch.rand(B, 1, 28, 28)
    features, logits = d.features_and_logits(x)
    torch.testing.assert_close(logits, d(x))
    torch.testing.assert_close(logits, d.out(features))  # no noise between them in eval


def test_data_init_statistics_with_reference_noise() -> None:
    """initialize() as the reference runs it, noise on: replaying the same noise draws in a
    training-mode pass reproduces the init pass, whose pre-activations are normalized."""
    d = ImprovedDiscriminator()
    x = torch.rand(INIT_BATCH, 1, 28, 28)
    before = _preactivations(d.eval(), x)
    assert (before[0].std(0) - 1).abs().max() > 0.5  # not normalized before init
    d.train()
    torch.manual_seed(123)
    d.initialize(x)
    torch.manual_seed(123)
    _assert_normalized(_preactivations(d, x))


def test_data_init_statistics_without_noise() -> None:
    d = ImprovedDiscriminator().eval()
    x = torch.rand(INIT_BATCH, 1, 28, 28)
    d.initialize(x, noise=False)
    _assert_normalized(_preactivations(d, x))
    assert not d.training and not d.input_noise.training  # mode restored


def test_effective_weight_rows_have_norm_g() -> None:
    d = ImprovedDiscriminator()
    d.initialize(torch.rand(INIT_BATCH, 1, 28, 28))
    for layer in _wn_layers(d):
        assert not torch.allclose(layer.g, torch.ones_like(layer.g))  # init changed g
        norms = layer.weight().norm(dim=1)
        torch.testing.assert_close(norms, layer.g.detach(), rtol=1e-5, atol=0)
    g = ImprovedGenerator().out  # eps 1e-6 under the root: still norm g to ~1e-7 relative
    torch.testing.assert_close(g.weight().norm(dim=1), g.g.detach(), rtol=1e-5, atol=0)


def test_trainable_scales_as_reference() -> None:
    """Hidden layers' g is frozen (a buffer), the output layer's g is trained."""
    d = ImprovedDiscriminator()
    names = {n for n, _ in d.named_parameters()}
    assert "out.g" in names
    assert not any(n.startswith("hidden.") and n.endswith(".g") for n in names)
    assert "hidden.0.g" in d.state_dict()  # still saved, it is set by initialize()
    d(torch.rand(B, 1, 28, 28)).logsumexp(1).mean().backward()
    assert d.out.g.grad is not None and d.hidden[0].v.grad is not None
    assert d.hidden[0].bias.grad is not None


def test_noise_only_in_training() -> None:
    d = ImprovedDiscriminator()
    x = torch.rand(B, 1, 28, 28)
    d.eval()
    torch.testing.assert_close(d(x), d(x), rtol=0, atol=0)
    d.train()
    assert not torch.allclose(d(x), d(x))


@pytest.mark.parametrize("sigma", [0.3, 0.5])
def test_gaussian_noise_std(sigma: float) -> None:
    noise = GaussianNoise(sigma)
    x = torch.full((200_000,), 2.0)
    e = noise(x) - x
    # Standard errors: mean sigma/sqrt(n) ~ 1e-3, std sigma/sqrt(2n) ~ 8e-4; 1e-2 is > 10 SE.
    assert abs(e.mean().item()) < 1e-2
    assert abs(e.std().item() - sigma) < 1e-2
    assert torch.equal(noise.eval()(x), x)


def test_generator_batch_norm_uses_batch_statistics() -> None:
    """No running statistics (the reference never uses them): eval equals train, and each
    BatchNorm output is standardized over the batch before its shift."""
    g = ImprovedGenerator()
    assert not hasattr(g, "initialize")  # no data-dependent init in the reference generator
    z = torch.rand(B, 100)
    torch.testing.assert_close(g.train()(z), g.eval()(z))
    bn = BatchNormShift(5)
    with torch.no_grad():
        bn.bias.fill_(0.25)
    y = bn(torch.randn(64, 5) * 3 + 1)
    torch.testing.assert_close(y.mean(0), torch.full((5,), 0.25), atol=1e-5, rtol=0)
    torch.testing.assert_close(y.std(0, unbiased=False), torch.ones(5), atol=1e-4, rtol=0)
    linears = [m for m in g.hidden if isinstance(m, nn.Linear)]
    assert len(linears) == 2 and all(m.bias is None for m in linears)


# ------------------------------------------------------------ the feature-matching algorithm's options
def _fm_trainer(tmp_path, **options):
    from sgan.config import get_config
    from sgan.data import synthetic_split
    from sgan.engine import Trainer

    base = dict(steps=2, sample_interval=1, labeled_batch_size=8, unlabeled_batch_size=8, fake_batch_size=8,
                gen_batch_size=8)
    config = get_config("improved", out=str(tmp_path), **{**base, **options})
    return Trainer(config, split=synthetic_split(20, 32, 10, "unit"), progress=False)


def test_consistency_and_entropy_terms_enter_the_discriminators_loss(tmp_path, monkeypatch) -> None:
    from sgan import losses

    plain = _fm_trainer(tmp_path / "a")
    assert "consistency" not in plain.step() and "entropy" not in plain.step()

    seen = {}
    real = losses.consistency_loss

    def spy(a: Tensor, b: Tensor) -> Tensor:
        seen["rows"] = (len(a), len(b))
        seen["value"] = real(a, b)
        return seen["value"]

    monkeypatch.setattr(losses, "consistency_loss", spy)
    t = _fm_trainer(tmp_path / "b", consistency_weight=0.05, entropy_weight=0.1, class_balance_weight=1.0)
    stats = t.step()
    assert all(math.isfinite(v) for v in stats.values())
    # the unlabeled batch went through twice, with independent Gaussian noise: the two differ
    assert seen["rows"] == (8, 8) and seen["value"].item() > 0
    assert stats["consistency"] == pytest.approx(seen["value"].item())
    assert 0 < stats["entropy"] <= math.log(10) + 1e-6
    assert 0 < stats["class_balance"] <= math.log(10) + 1e-6


def test_the_pseudo_label_term_enters_the_discriminators_loss(tmp_path, monkeypatch) -> None:
    from sgan import losses

    seen = {}
    real = losses.pseudo_label_loss

    def spy(clean: Tensor, moved: Tensor, threshold: float) -> Tensor:
        seen.update(rows=(len(clean), len(moved)), threshold=threshold, value=real(clean, moved, threshold))
        return seen["value"]

    monkeypatch.setattr(losses, "pseudo_label_loss", spy)
    # a threshold of 0.05 on 10 classes: every image counts, so the term is above 0
    t = _fm_trainer(tmp_path, pseudo_label_weight=1.0, pseudo_label_threshold=0.05, consistency_shift=2)
    stats = t.step()
    assert "consistency" not in stats  # the moved pass without CT-GAN's term
    assert seen["rows"] == (8, 8) and seen["threshold"] == 0.05
    assert stats["pseudo_label"] == pytest.approx(seen["value"].item()) and stats["pseudo_label"] > 0


def test_fresh_generator_noise_draws_a_second_batch(tmp_path) -> None:
    counts = []
    for fresh in (False, True):
        t = _fm_trainer(tmp_path / str(fresh), fresh_generator_noise=fresh)
        drawn: list[int] = []

        def counting(n: int, *rest, noise=t.algorithm.noise, drawn=drawn) -> Tensor:  # noqa: ANN002
            drawn.append(n)
            return noise(n, *rest)

        t.algorithm.noise = counting
        t.step()
        counts.append(drawn)
    assert counts == [[8], [8, 8]]


def test_keras_sgan_refuses_the_feature_matching_terms() -> None:
    from sgan.config import get_config

    with pytest.raises(ValueError, match="consistency_weight=0.1 is an option the keras-sgan algorithm does not"):
        get_config("gia", consistency_weight=0.1)
    with pytest.raises(ValueError, match="entropy_weight must be at least 0"):
        get_config("improved", entropy_weight=-1.0)
    with pytest.raises(ValueError, match="class_balance_weight=1.0 is an option the keras-sgan algorithm does not"):
        get_config("gia", class_balance_weight=1.0)
    with pytest.raises(ValueError, match="class_balance_weight must be at least 0"):
        get_config("improved", class_balance_weight=-0.5)
    with pytest.raises(ValueError, match="pseudo_label_weight=1.0 is an option the keras-sgan algorithm does not"):
        get_config("gia", pseudo_label_weight=1.0)
    with pytest.raises(ValueError, match=r"pseudo_label_threshold is a probability in \(0, 1\], got 1.5"):
        get_config("improved", pseudo_label_weight=1.0, pseudo_label_threshold=1.5)
    with pytest.raises(ValueError, match="pseudo_label_threshold chooses the pseudo-label term's images: give it a"):
        get_config("improved", pseudo_label_threshold=0.9)


def test_adam_inside_sqrt_by_hand() -> None:
    from sgan.optim import AdamInsideSqrt

    p = nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = AdamInsideSqrt([p], lr=0.1, betas=(0.5, 0.999), eps=1e-8)
    grads = [torch.tensor([0.5, 1e-4]), torch.tensor([-0.25, 1e-4])]
    m = v = torch.zeros(2, dtype=torch.float64)
    expected = torch.tensor([1.0, -2.0], dtype=torch.float64)
    for t, g in enumerate(grads, start=1):
        p.grad = g.clone()
        opt.step()
        g = g.double()
        m, v = 0.5 * m + 0.5 * g, 0.999 * v + 0.001 * g * g
        expected = expected - 0.1 * (m / (1 - 0.5**t)) / torch.sqrt(v / (1 - 0.999**t) + 1e-8)
    torch.testing.assert_close(p.detach().double(), expected, rtol=1e-6, atol=1e-7)
    # a gradient of 1e-4 is where the two epsilons part: the same eps outside the root moves further
    q = nn.Parameter(torch.tensor([-2.0]))
    torch_adam = torch.optim.Adam([q], lr=0.1, betas=(0.5, 0.999), eps=1e-8)
    for g in grads:
        q.grad = g[1:].clone()
        torch_adam.step()
    assert abs(q.item() + 2.0) > abs(p.detach()[1].item() + 2.0)


def test_lr_decays_linearly_to_zero_from_lr_decay_start(tmp_path) -> None:
    t = _fm_trainer(tmp_path, steps=10, lr_decay_start=6, lr=1e-3)
    seen = []
    for _ in range(10):
        t.step()
        t.step_count += 1
        seen.append(t.algorithm.opt_sup.param_groups[0]["lr"])
    # steps 0-5 at lr, then (10 - s) / 4 of it: 1, 0.75, 0.5, 0.25 at steps 6-9
    assert seen == pytest.approx([1e-3] * 7 + [7.5e-4, 5e-4, 2.5e-4])
    assert t.algorithm.opt_g.param_groups[0]["lr"] == pytest.approx(2.5e-4)


@pytest.mark.parametrize("term, option", [("consistency_loss", "consistency_weight"),
                                          ("entropy_loss", "entropy_weight"),
                                          ("class_balance_loss", "class_balance_weight"),
                                          ("consistency_loss", "teacher_weight"),
                                          ("pseudo_label_loss", "pseudo_label_weight")])
def test_each_term_reaches_the_discriminators_update(tmp_path, monkeypatch, term, option) -> None:
    from sgan import losses

    # a term that is NaN: the discriminator's weights turn NaN if and only if the term is in its loss
    def nan_term(*args: Tensor) -> Tensor:
        trained = args[1] if term == "pseudo_label_loss" else args[0]  # its target, args[0], has no gradient
        return trained.sum() * float("nan")

    monkeypatch.setattr(losses, term, nan_term)
    off = _fm_trainer(tmp_path / "off")
    off.step()
    assert all(torch.isfinite(p).all() for p in off.discriminator.parameters())
    on = _fm_trainer(tmp_path / "on", **{option: 0.1})
    on.step()
    assert not all(torch.isfinite(p).all() for p in on.discriminator.parameters())


def test_improved_fast_is_improved_with_the_references_update_in_bf16(tmp_path) -> None:
    """The preset differs from `improved` by the reference's Adam and fresh generator noise at its
    first version's learning rate, a consistency term under shifts, bf16, and a 100-epoch schedule
    whose last 50 epochs decay the learning rate; it trains a step."""
    from sgan.config import get_config
    from sgan.data import synthetic_split
    from sgan.engine import Trainer
    from sgan.optim import AdamInsideSqrt

    fast, improved = get_config("improved-fast"), get_config("improved")
    differ = {k for k, v in vars(fast).items() if getattr(improved, k) != v}
    assert differ == {"preset", "lr", "steps", "lr_decay_start", "adam_eps", "adam_eps_inside_sqrt",
                      "fresh_generator_noise", "consistency_weight", "consistency_shift", "precision"}
    assert (fast.lr, fast.steps, fast.lr_decay_start, fast.adam_eps, fast.precision) == (1e-3, 60000, 30000, 1e-8,
                                                                                          "bf16")
    assert (fast.consistency_weight, fast.consistency_shift) == (1.0, 2)
    config = get_config("improved-fast", out=str(tmp_path), steps=2, sample_interval=1, labeled_batch_size=8,
                        unlabeled_batch_size=8, fake_batch_size=8, gen_batch_size=8)
    t = Trainer(config, split=synthetic_split(20, 32, 10, "unit"), progress=False)
    assert isinstance(t.algorithm.opt_sup, AdamInsideSqrt) and isinstance(t.algorithm.opt_g, AdamInsideSqrt)
    stats = t.step()
    assert all(math.isfinite(v) for v in stats.values())


def test_improved_fixmatch_fast_is_improved_fixmatch_at_twice_the_learning_rate() -> None:
    from sgan.config import get_config

    fast, fixmatch = get_config("improved-fixmatch-fast"), get_config("improved-fixmatch")
    assert {k for k, v in vars(fast).items() if getattr(fixmatch, k) != v} == {"preset", "lr"}
    assert (fixmatch.lr, fast.lr) == (1e-3, 2e-3)
    assert (fast.steps, fast.lr_decay_start, fast.pseudo_label_weight, fast.consistency_shift) == (60000, 30000, 1.0, 2)


def test_mean_teacher_learns_from_the_weight_average(tmp_path, monkeypatch) -> None:
    """teacher_weight compares the discriminator's unlabeled predictions with those of the loop's
    weight average (the teacher's rows, no gradient to it); it needs a weight average."""
    from sgan import losses
    from sgan.config import get_config

    seen = {}
    real = losses.consistency_loss

    def spy(a: Tensor, b: Tensor) -> Tensor:
        seen["student_grad"], seen["teacher_grad"] = a.requires_grad, b.requires_grad
        seen["value"] = real(a, b)
        return seen["value"]

    monkeypatch.setattr(losses, "consistency_loss", spy)
    t = _fm_trainer(tmp_path, teacher_weight=10.0)
    assert t.algorithm.teacher is t.ema.module
    stats = t.step()
    assert seen["student_grad"] and not seen["teacher_grad"]
    assert stats["teacher"] == pytest.approx(seen["value"].item()) and stats["teacher"] > 0
    with pytest.raises(ValueError, match="teacher_weight learns from the weight average: give it an ema_decay"):
        get_config("improved").replace(teacher_weight=1.0, ema_decay=None)
