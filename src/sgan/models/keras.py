"""Keras 2 semantics the tutorial networks depend on: initialisation and BatchNorm averages.

Keras initialises Dense, Conv2D and Conv2DTranspose kernels with Glorot-uniform and biases with
zeros; PyTorch's default (Kaiming-uniform with a=sqrt(5), uniform bias) starts smaller weights
and nonzero biases. BatchNorm starts at gamma=1, beta=0 in both.
"""

from __future__ import annotations

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
    ~43% instead of the book's 69%. The corrected average equals PyTorch's update with momentum
    (1 - m) / (1 - m^t) at the t-th update, which is what forward() sets.
    """

    def __init__(self, num_features: int, momentum: float = 0.99, eps: float = 1e-3) -> None:
        super().__init__(num_features, eps=eps)
        self.keras_momentum = momentum

    def forward(self, x: Tensor) -> Tensor:
        if self.training and self.track_running_stats:
            t = int(self.num_batches_tracked) + 1
            self.momentum = (1.0 - self.keras_momentum) / (1.0 - self.keras_momentum**t)
        return super().forward(x)
