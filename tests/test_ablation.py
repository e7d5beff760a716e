"""benchmarks/ablation.py times old code against new: its "before" patches must compute what the
current code computes, or the speedups it prints compare different work."""

import torch

from sgan.config import get_config
from sgan.data import synthetic_split
from sgan.engine import Trainer
from sgan.models.improved import ImprovedDiscriminator, WeightNormLinear


def test_weight_norm_patch_is_the_same_layer(load_benchmark):
    ablation = load_benchmark("ablation")
    torch.manual_seed(0)
    layer, x = WeightNormLinear(30, 20), torch.randn(8, 30)
    with torch.no_grad():
        layer.g.uniform_(0.5, 2.0)
        layer.bias.normal_()
    current = WeightNormLinear.forward
    after = layer(x)
    with ablation.weight_norm_rebuilds_weights():
        assert WeightNormLinear.forward is not current
        before = layer(x)
    torch.testing.assert_close(before, after)
    assert WeightNormLinear.forward is current  # the patch is undone


def test_three_passes_patch_is_the_same_discriminator(load_benchmark):
    ablation = load_benchmark("ablation")
    torch.manual_seed(0)
    D, x = ImprovedDiscriminator().eval(), torch.rand(300, 1, 28, 28)  # eval: no noise to differ
    after = D.features_and_logits(x)
    with ablation.three_discriminator_passes():
        before = D.features_and_logits(x)
    for b, a in zip(before, after, strict=True):
        torch.testing.assert_close(b, a)


def step_result(preset: str, patch=None) -> dict[str, torch.Tensor]:
    """Parameters after two seeded training steps, with or without a "before" patch."""
    import contextlib

    config = get_config(preset, labels=20, out="unused", precision="fp32", labeled_batch_size=8,
                        unlabeled_batch_size=8, fake_batch_size=8, gen_batch_size=8)
    with patch() if patch else contextlib.nullcontext():
        t = Trainer(config, split=synthetic_split(20, 64, 10, config.pixel_range), progress=False)
        for _ in range(2):
            t.step()
    return {**{f"D.{k}": v for k, v in t.discriminator.state_dict().items()},
            **{f"G.{k}": v for k, v in t.generator.state_dict().items()}}


def largest_difference(preset: str, patch) -> float:
    """The largest difference of a trained weight with and without `patch`, in Adam steps (lr)."""
    after, before = step_result(preset), step_result(preset, patch)
    assert before.keys() == after.keys()
    return max(float((before[k].float() - after[k].float()).abs().max()) for k in after) / get_config(preset).lr


# Two Adam steps move a weight by up to two learning rates, each close to lr * sign(gradient).
# Rounding (another summation order, which the patches and other CPUs have) moves an update by a
# fraction of a step: 0.15 lr measured on an Intel Xeon for the one-channel patch. A computation
# that differs changes whole steps. Tolerance: a quarter of a step.
STEP_FRACTION = 0.25


def test_training_patches_change_speed_not_results(load_benchmark):
    """Frozen-D weight gradients, for-loop Adam, the bias inside the transposed convolutions and
    oneDNN's one-output-channel convolution leave every trained weight where it was, up to
    rounding. (The bias patch is checked on `stacked`: in `gia` each transposed convolution feeds
    BatchNorm, so its bias gradient is zero up to rounding, and Adam scales that rounding noise,
    different in each route, into full-size steps.)"""
    ablation = load_benchmark("ablation")
    for preset, patch in (("gia", ablation.frozen_with_weight_gradients), ("improved", ablation.adam_for_loop),
                          ("stacked", ablation.bias_inside_transposed_convolution),
                          ("stacked", ablation.one_channel_convolution_by_onednn)):
        assert largest_difference(preset, patch) <= STEP_FRACTION, f"{preset}: {patch.__name__} changed the weights"


def test_the_tolerance_catches_a_patch_that_computes_something_else():
    """The same comparison fails for a one-channel convolution with its kernel transposed."""
    from unittest.mock import patch

    import torch.nn.functional as F

    from sgan.models.layers import Conv2d

    def transposed_kernel():
        return patch.object(Conv2d, "forward", lambda self, x: F.conv2d(x, self.weight.transpose(2, 3), self.bias,
                                                                         padding=self.padding))

    assert largest_difference("stacked", transposed_kernel) > 1.0


def test_bernoulli_dropout_patch_is_the_same_layer(load_benchmark):
    """Both masks keep units with probability 1 - p and scale them by 1 / (1 - p)."""
    from sgan.models.keras import Dropout

    ablation = load_benchmark("ablation")
    drop, x = Dropout(0.5), torch.ones(100_000)
    for patch in (None, ablation.bernoulli_dropout):
        with patch() if patch else torch.no_grad():
            y = drop(x)
        assert set(y.unique().tolist()) == {0.0, 2.0}
        assert abs((y != 0).float().mean().item() - 0.5) < 0.01
    drop.eval()
    with ablation.bernoulli_dropout():
        assert torch.equal(drop(x), x)
