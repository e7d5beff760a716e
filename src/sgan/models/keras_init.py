"""Keras' default initialisation, so the tutorial networks start where the Keras originals did.

Keras initialises Dense, Conv2D and Conv2DTranspose kernels with Glorot-uniform and biases with
zeros; PyTorch's default (Kaiming-uniform with a=sqrt(5), uniform bias) starts smaller weights
and nonzero biases. BatchNorm starts at gamma=1, beta=0 in both.
"""

from __future__ import annotations

from torch import nn


def keras_init_(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module
