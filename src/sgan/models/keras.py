"""Keras 2 semantics the tutorial networks depend on: initialisation, BatchNorm averages, dropout.

Keras initialises Dense, Conv2D and Conv2DTranspose kernels with Glorot-uniform and biases with
zeros; PyTorch's default (Kaiming-uniform with a=sqrt(5), uniform bias) starts smaller weights
and nonzero biases. BatchNorm starts at gamma=1, beta=0 in both.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def keras_init_(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


class KerasBatchNorm2d(nn.BatchNorm2d):
    """BatchNormalization as Keras 2 ran it: momentum 0.99, epsilon 1e-3, zero-debiased averages.

    Keras 2's TensorFlow backend updated the moving mean and variance with
    `assign_moving_average(..., zero_debias=True)`: an exponential average corrected for its
    start, like Adam's moments, so the initial mean 0 / variance 1 leave no trace. That matters
    for short runs: after the book's 120 baseline steps a plain 0.99 average still carries 30%
    of the initial variance 1 against a batch variance near 0.006, and the baseline scores
    ~43% instead of the book's 69%. The corrected average equals PyTorch's update with rate
    (1 - m) / (1 - m^t) at the t-th update.
    """

    def __init__(self, num_features: int, momentum: float = 0.99, eps: float = 1e-3) -> None:
        super().__init__(num_features, eps=eps)
        self.keras_momentum = momentum

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and self.track_running_stats):
            return super().forward(x)  # inference, or batch statistics without updates (frozen)
        if not torch.compiler.is_compiling():
            # Eager: set the rate as BatchNorm2d's float momentum; its kernel updates the averages
            # in the same pass, cheaper than the tensor update below (benchmarks/results/microbench.md).
            t = int(self.num_batches_tracked) + 1
            self.momentum = (1.0 - self.keras_momentum) / (1.0 - self.keras_momentum**t)
            return super().forward(x)
        # Under torch.compile a float that changes every step would be a graph break and a
        # recompilation per step, so the same update is written with tensors: the kernel returns
        # the batch mean and 1/std it normalized with, and the rate comes from the step counter.
        out, mean, invstd = torch.native_batch_norm(x, self.weight, self.bias, None, None, True, 0.0, self.eps)
        with torch.no_grad():
            self.num_batches_tracked.add_(1)
            n = x.numel() // x.size(1)
            var = (invstd.float().pow(-2) - self.eps) * (n / (n - 1))  # unbiased, as BatchNorm2d keeps
            rate = (1.0 - self.keras_momentum) / (1.0 - self.keras_momentum**self.num_batches_tracked)
            self.running_mean.lerp_(mean.float(), rate)
            self.running_var.lerp_(var, rate)
        return out


class Dropout(nn.Module):
    """Inverted dropout, as Keras' and PyTorch's: zero each unit with probability p, scale the
    rest by 1 / (1 - p), and pass everything through at evaluation.

    The mask comes from `torch.rand(...) >= p` instead of `F.dropout`'s `bernoulli_`, which is
    several times slower on CPU (benchmarks/results/microbench.md). The uniform draw is float32
    whatever the input's dtype: a bf16 draw has 8-bit resolution and would keep units with
    probability 0.598 instead of 0.6 at p = 0.4.
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand_like(x, dtype=torch.float32) >= self.p
        return x * (keep.to(x.dtype) * (1.0 / (1.0 - self.p)))

    def extra_repr(self) -> str:
        return f"p={self.p}"
