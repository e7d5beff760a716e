"""Every network's shapes, pixel ranges and parameter counts (the Keras originals' counts)."""

import pytest
import torch

from sgan.config import get_config
from sgan.models import build_discriminator, build_generator
from sgan.summary import summarize


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("preset", ["gia", "stacked", "improved"])
def test_shapes_and_ranges(preset):
    cfg = get_config(preset)
    g, d = build_generator(cfg.model), build_discriminator(cfg.model)
    z = torch.randn(5, cfg.z_dim) if cfg.z_dist == "normal" else torch.rand(5, cfg.z_dim)
    x = g(z)
    assert x.shape == (5, 1, 28, 28)
    low = -1.0 if cfg.pixel_range == "tanh" else 0.0
    assert x.min() >= low and x.max() <= 1.0
    assert d(x).shape == (5, 10)
    features, logits = d.features_and_logits(x)
    assert logits.shape == (5, 10) and features.shape[0] == 5


def test_gia_parameter_counts_match_the_book():
    cfg = get_config("gia")
    d = build_discriminator(cfg.model)
    convs_and_dense = [m for m in d.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    # Keras summary of the book's discriminator: 320, 18496, 73856 and Dense(2048 -> 10) 20490
    assert [n_params(m) for m in convs_and_dense] == [320, 18496, 73856, 20490]
    g = build_generator(cfg.model)
    layers = [m for m in g.modules() if isinstance(m, (torch.nn.ConvTranspose2d, torch.nn.Linear))]
    assert [n_params(m) for m in layers] == [1266944, 295040, 73792, 577]


def test_stacked_parameter_counts_match_the_tutorial():
    cfg = get_config("stacked")
    d = build_discriminator(cfg.model)
    assert n_params(d) == 1280 + 147584 + 62730
    g = build_generator(cfg.model)
    layers = [m for m in g.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear))]
    assert [n_params(m) for m in layers] == [633472, 262272, 262272, 6273]


@pytest.mark.parametrize("channels_last", [False, True])
def test_transposed_convolution_with_bias_after_is_nn_s(channels_last):
    """The same output and gradients as nn.ConvTranspose2d; under bf16 autocast, bf16 out."""
    from sgan.models.layers import ConvTranspose2d

    torch.manual_seed(0)
    ref = torch.nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
    ours = ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 16, 7, 7)
    if channels_last:
        x, ref, ours = (t.to(memory_format=torch.channels_last) for t in (x, ref, ours))
    x.requires_grad_(True)
    g = torch.randn(4, 8, 14, 14)
    y_ref, y = ref(x), ours(x)
    torch.testing.assert_close(y, y_ref)
    grads_ref = torch.autograd.grad((y_ref * g).sum(), [x, ref.weight, ref.bias])
    grads = torch.autograd.grad((y * g).sum(), [x, ours.weight, ours.bias])
    for a, b in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(a, b)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y16, y16_ref = ours(x), ref(x)
    assert y16.dtype == torch.bfloat16
    torch.testing.assert_close(y16.float(), y16_ref.float(), rtol=0.02, atol=0.05)
    assert ours(x, output_size=[13, 13]).shape == ref(x, output_size=[13, 13]).shape == (4, 8, 13, 13)


@pytest.mark.parametrize("kernel, channels_last", [(7, True), (7, False), (3, True)])
def test_one_output_channel_convolution_is_nn_s(kernel, channels_last):
    """Matrix product and fold: nn.Conv2d's output and gradients; bf16 out under autocast."""
    from sgan.models.layers import Conv2d

    torch.manual_seed(0)
    ref = torch.nn.Conv2d(16, 1, kernel, padding=kernel // 2)
    ours = Conv2d(16, 1, kernel, padding=kernel // 2)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(3, 16, 9, 11)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    y_ref, y = ref(x), ours(x)
    torch.testing.assert_close(y, y_ref)
    g = torch.randn_like(y)
    grads_ref = torch.autograd.grad((y_ref * g).sum(), [x, ref.weight, ref.bias])
    grads = torch.autograd.grad((y * g).sum(), [x, ours.weight, ours.bias])
    for a, b in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y16, y16_ref = ours(x), ref(x)
    assert y16.dtype == torch.bfloat16
    torch.testing.assert_close(y16.float(), y16_ref.float(), rtol=0.02, atol=0.05)


def test_convolutions_it_cannot_fold_use_nn_s_kernel():
    from sgan.models.layers import Conv2d

    x = torch.randn(2, 4, 8, 8)
    for kwargs in (dict(out_channels=2, padding=1), dict(out_channels=1, padding=0), dict(out_channels=1, stride=2)):
        ours = Conv2d(4, kernel_size=3, **kwargs)
        ref = torch.nn.Conv2d(4, kernel_size=3, **kwargs)
        ref.load_state_dict(ours.state_dict())
        torch.testing.assert_close(ours(x), ref(x))


def test_keras_initialisation():
    d = build_discriminator("stacked")
    assert all((m.bias == 0).all() for m in d.modules() if isinstance(m, torch.nn.Conv2d))
    w = d.head.weight
    limit = (6 / (w.shape[0] + w.shape[1])) ** 0.5  # Glorot uniform
    assert w.abs().max() <= limit and w.abs().max() > 0.9 * limit


def test_summary_lists_layers_and_totals():
    text = summarize(get_config("stacked"))
    assert "ConvTranspose2d" in text and "(2, 128, 28, 28)" in text
    assert f"total parameters: {1280 + 147584 + 62730:,}" in text


def test_keras_batchnorm_moving_averages_are_zero_debiased():
    from sgan.models.keras import KerasBatchNorm2d

    bn = KerasBatchNorm2d(3).train()
    batches = [torch.randn(8, 3, 4, 4) * (i + 1) + i for i in range(3)]
    biased, biased_var = torch.zeros(3), torch.zeros(3)
    for t, x in enumerate(batches, start=1):
        bn(x)
        biased = 0.99 * biased + 0.01 * x.mean((0, 2, 3))
        biased_var = 0.99 * biased_var + 0.01 * x.var((0, 2, 3))  # unbiased batch variance
        # Keras 2: assign_moving_average(zero_debias=True) -> biased / (1 - 0.99^t)
        torch.testing.assert_close(bn.running_mean, biased / (1 - 0.99**t))
        torch.testing.assert_close(bn.running_var, biased_var / (1 - 0.99**t))
    assert bn.eps == 1e-3
    assert int(bn.num_batches_tracked) == 3


def test_keras_batchnorm_compiles_once_and_matches_eager():
    """The debiasing rate changes every step; under torch.compile it must not be a new constant
    (a recompilation per step), and the compiled update must be the eager one."""
    from sgan.models.keras import KerasBatchNorm2d

    torch._dynamo.reset()
    eager, bn = KerasBatchNorm2d(3).train(), KerasBatchNorm2d(3).train()
    compiled = torch.compile(bn, backend="eager", fullgraph=True)  # fullgraph: a graph break fails
    with torch._dynamo.config.patch(error_on_recompile=True):
        for i in range(3):
            x = torch.randn(8, 3, 4, 4) * (i + 1) + i
            torch.testing.assert_close(compiled(x), eager(x))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(bn, name), getattr(eager, name))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_keeps_one_minus_p_scaled_and_is_off_at_evaluation(dtype):
    from sgan.models.keras import Dropout

    torch.manual_seed(0)
    drop = Dropout(0.4)
    x = torch.ones(200_000, dtype=dtype, requires_grad=True)
    y = drop(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.6) < 0.005  # keep probability 1 - p, also in bf16
    assert torch.allclose(y[kept].float(), torch.full_like(y[kept].float(), 1 / 0.6), rtol=1e-2)
    y.float().sum().backward()
    assert torch.equal(x.grad != 0, kept)  # gradients flow through kept units only
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.0)
