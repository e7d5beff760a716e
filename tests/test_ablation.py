"""benchmarks/ablation.py times old code against new: its "before" patches must compute what the
current code computes, or the speedups it prints compare different work."""

import torch

from sgan.config import get_config
from sgan.data import synthetic_split
from sgan.models.improved import ImprovedDiscriminator, WeightNormLinear
from sgan.trainer import Trainer


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
            t.step(*t.next_batch())
    return {**{f"D.{k}": v for k, v in t.discriminator.state_dict().items()},
            **{f"G.{k}": v for k, v in t.generator.state_dict().items()}}


def test_training_patches_change_speed_not_results(load_benchmark):
    """Frozen-D weight gradients, for-loop Adam, the bias inside the transposed convolutions and
    oneDNN's one-output-channel convolution leave every trained weight as it is. (The bias patch
    is checked on `stacked`: in `gia` each transposed convolution feeds BatchNorm, so its bias
    gradient is zero up to rounding, and Adam scales that rounding noise, different in each
    route, into full-size steps.)"""
    ablation = load_benchmark("ablation")
    for preset, patch in (("gia", ablation.frozen_with_weight_gradients), ("improved", ablation.adam_for_loop),
                          ("stacked", ablation.bias_inside_transposed_convolution),
                          ("stacked", ablation.one_channel_convolution_by_onednn)):
        after, before = step_result(preset), step_result(preset, patch)
        assert before.keys() == after.keys()
        for k in after:
            torch.testing.assert_close(before[k], after[k], rtol=1e-5, atol=1e-6, msg=f"{preset} {k}")


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
