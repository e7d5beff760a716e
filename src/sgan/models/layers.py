"""Layers that compute exactly what torch.nn's do, by a faster route on CPU."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def add_bias_(y: Tensor, bias: Tensor) -> Tensor:
    """Add a per-channel bias to an [N, C, H, W] output in place, in the output's dtype.

    Under autocast the output is bf16 and the bias float32; cast first, since a float32 operand
    sends the in-place add down a much slower mixed-dtype path on CPU (benchmarks/results/microbench.md).
    """
    return y.add_(bias.to(y.dtype).view(1, -1, 1, 1))


class ConvTranspose2d(nn.ConvTranspose2d):
    """`nn.ConvTranspose2d` with its bias added after the convolution, in place.

    The same parameters, state_dict and function; only the backward pass is cheaper. PyTorch's
    CPU transposed-convolution backward computes the bias gradient, a sum over batch and pixels,
    by a slow route; autograd's sum of an add is far cheaper (benchmarks/results/microbench.md).
    Adding in place writes no second output tensor (the convolution's backward does not need
    its output).
    """

    def forward(self, x: Tensor, output_size: list[int] | None = None) -> Tensor:
        if self.bias is None or output_size is not None:
            return super().forward(x, output_size)
        y = F.conv_transpose2d(x, self.weight, None, self.stride, self.padding, self.output_padding,
                               self.groups, self.dilation)
        return add_bias_(y, self.bias)


class Conv2d(nn.Conv2d):
    """`nn.Conv2d`; on a CPU, with one output channel and 'same' padding, a matrix product and a fold.

    oneDNN's CPU kernels block output channels by 16, so a convolution with one output channel
    wastes most of each kernel (`stacked`'s 7x7 output layer). Written as a matrix product over
    the channels (every input pixel's 49 tap values) and a fold that sums each output pixel's
    taps, it is the same function, faster on CPU (benchmarks/results/microbench.md). The fold sums
    in float32 whatever the product's precision. Other shapes and devices use nn.Conv2d's kernel.
    """

    def forward(self, x: Tensor) -> Tensor:
        kh, kw = self.kernel_size
        same = self.padding == ((kh - 1) // 2, (kw - 1) // 2) and kh % 2 == 1 and kw % 2 == 1
        if (x.device.type != "cpu" or self.out_channels != 1 or self.groups != 1 or self.stride != (1, 1)
                or self.dilation != (1, 1) or self.padding_mode != "zeros" or not same or x.dim() != 4):
            return super().forward(x)
        n, c, h, w = x.shape
        # Input pixel p, tap k contributes to output pixel p - k + padding: a fold with flipped taps.
        taps = self.weight.flip(2, 3).reshape(c, kh * kw)
        cols = x.permute(0, 2, 3, 1).reshape(n * h * w, c) @ taps  # free view of a channels-last x
        y = F.fold(cols.float().view(n, h * w, kh * kw).transpose(1, 2), (h, w), self.kernel_size,
                   padding=self.padding).to(cols.dtype)
        return y if self.bias is None else add_bias_(y, self.bias)
