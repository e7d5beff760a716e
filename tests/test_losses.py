"""The two heads' math against hand-computed values, and its stability where naive math fails."""

import math

import pytest
import torch

from sgan import losses


def naive_d(logits: torch.Tensor) -> torch.Tensor:
    z = logits.exp().sum(1)
    return z / (z + 1)


def test_real_probability_matches_naive_formula_where_finite():
    logits = torch.randn(64, 10, dtype=torch.float64) * 3
    torch.testing.assert_close(losses.real_probability(logits), naive_d(logits))


def test_real_probability_stays_finite_where_naive_overflows():
    logits = torch.tensor([[100.0, 95.0, -3.0], [-200.0, -150.0, -120.0]])
    assert torch.isnan(naive_d(logits)[0])  # inf / inf in float32
    d = losses.real_probability(logits)
    assert torch.isfinite(d).all()
    assert d[0].item() == pytest.approx(1.0)
    assert d[1].item() == pytest.approx(0.0, abs=1e-30)
    for fn in (losses.real_loss, losses.fake_loss):
        x = logits.clone().requires_grad_(True)
        loss = fn(x)
        loss.backward()
        assert math.isfinite(loss.item()) and torch.isfinite(x.grad).all()


def test_unsupervised_losses_by_hand():
    logits = torch.zeros(1, 2)  # Z = 2, D = 2/3
    assert losses.real_loss(logits).item() == pytest.approx(-math.log(2 / 3), rel=1e-6)
    assert losses.fake_loss(logits).item() == pytest.approx(-math.log(1 / 3), rel=1e-6)
    expected = 0.5 * (-math.log(2 / 3) - math.log(1 / 3))
    assert losses.unsupervised_loss(logits, logits).item() == pytest.approx(expected, rel=1e-6)
    # the generator wants its images called real: the real-target loss on fake logits
    assert losses.generator_loss(logits).item() == pytest.approx(-math.log(2 / 3), rel=1e-6)


def test_unsupervised_loss_is_improved_gans_softplus_form():
    real, fake = torch.randn(32, 10), torch.randn(32, 10)
    l_unl, l_gen = torch.logsumexp(real, 1), torch.logsumexp(fake, 1)
    reference = (-0.5 * l_unl.mean() + 0.5 * torch.nn.functional.softplus(l_unl).mean()
                 + 0.5 * torch.nn.functional.softplus(l_gen).mean())
    torch.testing.assert_close(losses.unsupervised_loss(real, fake), reference)


def test_supervised_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    expected = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert losses.supervised_loss(logits, torch.tensor([0])).item() == pytest.approx(expected, rel=1e-6)


def test_feature_matching_loss_by_hand():
    real = torch.tensor([[1.0, 2.0], [3.0, 4.0]])  # mean (2, 3)
    fake = torch.tensor([[0.0, 0.0], [2.0, 2.0]], requires_grad=True)  # mean (1, 1)
    loss = losses.feature_matching_loss(real, fake)
    assert loss.item() == pytest.approx((1**2 + 2**2) / 2)
    loss.backward()
    # d/dfake_ij of mean_j (r_j - mean_i f_ij)^2 = -(r_j - m_j) / (n_features * batch)
    torch.testing.assert_close(fake.grad, torch.tensor([[-0.5, -1.0], [-0.5, -1.0]]))


def test_consistency_loss_by_hand():
    a = torch.tensor([[0.0, 0.0]])  # softmax (1/2, 1/2)
    b = torch.tensor([[math.log(3.0), 0.0]])  # softmax (3/4, 1/4)
    assert losses.consistency_loss(a, b).item() == pytest.approx((0.25**2 + 0.25**2) / 2)
    assert losses.consistency_loss(b, b).item() == 0.0


def test_pseudo_label_loss_by_hand():
    """Image 0: clean pass 3/4 sure of class 0 (above 0.7), its moved pass at softmax (1/2, 1/2):
    -log(1/2). Image 1: 1/2 sure, under the threshold: 0. The mean is over both images."""
    clean = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]], requires_grad=True)
    moved = torch.tensor([[0.0, 0.0], [5.0, -5.0]], requires_grad=True)
    loss = losses.pseudo_label_loss(clean, moved, threshold=0.7)
    assert loss.item() == pytest.approx(math.log(2) / 2, rel=1e-6)
    loss.backward()
    assert clean.grad is None or not clean.grad.any()  # the clean pass is the target, not trained by it
    # d/dz of -log softmax(z)_0 / 2 = (softmax(z) - onehot(0)) / 2 for image 0; image 1 masked out
    torch.testing.assert_close(moved.grad, torch.tensor([[-0.25, 0.25], [0.0, 0.0]]))
    assert losses.pseudo_label_loss(clean, moved, threshold=0.8).item() == 0.0  # nobody sure enough


def test_entropy_loss_by_hand():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    expected = (math.log(2) - (0.75 * math.log(0.75) + 0.25 * math.log(0.25))) / 2
    assert losses.entropy_loss(logits).item() == pytest.approx(expected, rel=1e-6)
    assert losses.entropy_loss(torch.tensor([[60.0, 0.0]])).item() == pytest.approx(0.0, abs=1e-6)


def test_class_balance_loss_by_hand():
    """log K - H(mean softmax): p = (.5, .5) and (.75, .25) average to (.625, .375)."""
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    expected = math.log(2) + 0.625 * math.log(0.625) + 0.375 * math.log(0.375)  # 0.031584
    assert losses.class_balance_loss(logits).item() == pytest.approx(expected, rel=1e-5)
    # one image per class, each predicted with certainty: balanced, whatever the confidence
    assert losses.class_balance_loss(torch.eye(3) * 50).item() == pytest.approx(0.0, abs=1e-6)
    # every image in one class of K = 4: the largest value, log 4
    assert losses.class_balance_loss(torch.tensor([[50.0, 0, 0, 0]] * 5)).item() == pytest.approx(math.log(4), rel=1e-5)
