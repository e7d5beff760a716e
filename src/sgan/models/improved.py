"""The permutation-invariant MNIST networks of Salimans et al. 2016 ("Improved Techniques for
Training GANs"), written in PyTorch after the public Theano/Lasagne code, openai/improved-gan
`mnist_svhn_cifar10/train_mnist_feature_matching.py` and its `nn.py` (read, not copied).

Where the paper and that code differ, or the paper is silent, these networks follow the code;
every such place is marked "reference:" below. The main ones:

* The discriminator's layers are `nn.DenseLayer` of the reference, i.e. weight normalization
  (Salimans & Kingma 2016) with v ~ Normal(0, 0.1) (not 0.05: that is the CIFAR code's
  `WeightNormLayer`), no epsilon in the norm, a trainable bias, and a scale g that is trainable
  only in the last layer (`train_scale=True`); the hidden layers' g is set by the data-dependent
  initialization and then frozen, so here it is a buffer, not a parameter.
* The feature-matching target is `layers[-3]`: the output of the last 250-unit layer *after*
  its ReLU and *before* the Gaussian noise that follows it. The reference computes it with
  noise active below it (Lasagne's default `deterministic=False`).
* The reference's feature-matching loss (not computed here; sgan.algorithms.feature_matching owns it) is
  `mean(square(mean_fake - mean_real))` over the 250 features, a mean of squares, in the MNIST
  script; `mean(abs(...))` is the CIFAR script's.
* The generator's two hidden layers are BatchNorm without a scale (`g=None`) and with a
  trainable shift, eps 1e-6, always on batch statistics (the reference never uses or even
  updates running averages), then softplus. Its output layer is `nn.l2normalize`: weight
  normalization with a trainable scale starting at 1, eps 1e-6 inside the square root, Glorot
  uniform v (Lasagne's `DenseLayer` default), no data-dependent initialization.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "GaussianNoise",
    "WeightNormLinear",
    "BatchNormShift",
    "ImprovedDiscriminator",
    "ImprovedGenerator",
]

HIDDEN_DIMS: tuple[int, ...] = (1000, 500, 250, 250, 250)
GEN_HIDDEN_DIMS: tuple[int, ...] = (500, 500)


class GaussianNoise(nn.Module):
    """Adds N(0, sigma^2) noise in training mode only.

    The noise is the discriminator's only regularizer in the reference (no dropout on MNIST),
    so it must be off at test time: reference `nn.GaussianNoiseLayer` returns its input when
    `deterministic=True`, which is how the test error is computed.
    """

    def __init__(self, sigma: float) -> None:
        super().__init__()
        if sigma < 0:
            raise ValueError(f"sigma must be >= 0, got {sigma}")
        self.sigma = float(sigma)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.sigma == 0.0:
            return x
        # in place on the fresh noise: the same values as x + sigma * noise, one buffer fewer
        return torch.randn_like(x).mul_(self.sigma).add_(x)

    def extra_repr(self) -> str:
        return f"sigma={self.sigma}"


class WeightNormLinear(nn.Module):
    """Linear layer with w = g * v / ||v|| per output unit, plus a bias.

    Our own rather than `torch.nn.utils.weight_norm` / parametrizations so that the
    data-dependent initialization (`data_init`) is explicit and the module is plain tensor code
    that `torch.compile` traces without special cases.

    Args:
        in_features, out_features: sizes.
        train_scale: whether g is a trainable parameter. When False, g is a buffer: it is still
            set by `data_init` and saved in the state dict, but no optimizer (or parameter EMA)
            touches it, as in the reference's hidden layers (`train_scale=False`).
        v_init: "normal" (N(0, v_std), the reference `nn.DenseLayer`) or "glorot_uniform" (the
            Lasagne `DenseLayer` default, used by the reference generator's output layer).
        v_std: standard deviation for `v_init="normal"`.
        eps: added to the squared norm before the square root; 0 in the reference
            `nn.DenseLayer`, 1e-6 in its `nn.l2normalize`.
    """

    g: Tensor

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        train_scale: bool = True,
        v_init: Literal["normal", "glorot_uniform"] = "normal",
        v_std: float = 0.1,
        eps: float = 0.0,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.v_init = v_init
        self.v_std = v_std
        self.eps = eps
        self.train_scale = train_scale
        self.v = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features))
        g = torch.empty(out_features)
        if train_scale:
            self.g = nn.Parameter(g)
        else:
            self.register_buffer("g", g)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """v as the reference draws it, bias 0, g 1 (before any data-dependent init)."""
        if self.v_init == "normal":
            nn.init.normal_(self.v, mean=0.0, std=self.v_std)
        elif self.v_init == "glorot_uniform":
            # Same formula as Lasagne's GlorotUniform(gain=1): U(-a, a), a = sqrt(6/(in+out)).
            nn.init.xavier_uniform_(self.v)
        else:
            raise ValueError(f"unknown v_init {self.v_init!r}")
        self.bias.zero_()
        self.g.fill_(1.0)

    def weight(self) -> Tensor:
        """The effective weight [out, in]; its rows have norm g (up to eps)."""
        inv_norm = torch.rsqrt(self.v.square().sum(dim=1) + self.eps)
        return self.v * (self.g * inv_norm).unsqueeze(1)

    def forward(self, x: Tensor) -> Tensor:
        # Scale the outputs rather than the weights, as the reference's DenseLayer does: the same
        # function, but the elementwise work is [batch, out] instead of [out, in] each call.
        scale = self.g * torch.rsqrt(self.v.square().sum(dim=1) + self.eps)
        return torch.addcmul(self.bias, F.linear(x, self.v), scale)

    @torch.no_grad()
    def data_init(self, x: Tensor) -> Tensor:
        """Data-dependent init on batch x; returns the new pre-activations on x.

        Reference `nn.DenseLayer(init=True)`: t = x @ W without bias, m = mean(t), s =
        sqrt(mean((t - m)^2)) (population std, init scale 1), then g <- g / s and b <- -m / s,
        so the layer's pre-activations on this batch have zero mean and unit variance per
        unit. The returned tensor is (t - m) / s, what the reference feeds to the next layer.
        """
        t = F.linear(x, self.weight())
        m = t.mean(dim=0)
        t = t - m
        # The floor only guards a unit that is constant on the batch (the reference divides
        # by zero there); it never binds for real data.
        s = t.square().mean(dim=0).sqrt().clamp_min(1e-12)
        self.g.div_(s)
        self.bias.copy_(-m / s)
        return t / s

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"train_scale={self.train_scale}, v_init={self.v_init}, eps={self.eps}"
        )


class BatchNormShift(nn.Module):
    """BatchNorm on batch statistics with a trainable shift and no scale.

    Reference `nn.batch_norm(..., g=None)` in train_mnist_feature_matching.py: the dense
    layer's bias is removed, features are normalized with the biased batch variance and eps
    1e-6 inside the square root, and only a shift b (init 0) is learned. The generator is only
    ever run with `deterministic=False`, and its `bn_updates` are never applied, so there are no
    running statistics: this layer uses batch statistics in eval mode too (batch size > 1).
    """

    def __init__(self, num_features: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.bias = nn.Parameter(torch.zeros(num_features))
        # A constant scale of 1 rather than none: CUDA's batch-norm backward returns an empty
        # bias gradient when the weight is None. Not saved: the function has no scale.
        self.register_buffer("scale", torch.ones(num_features), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return F.batch_norm(x, None, None, self.scale, self.bias, True, 0.0, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}"


class ImprovedDiscriminator(nn.Module):
    """MLP 784-1000-500-250-250-250-K with weight norm, ReLU and Gaussian noise (784 = C*H*W).

    Noise N(0, 0.3^2) on the input and N(0, 0.5^2) after every hidden ReLU, in training mode
    only. The last layer has no nonlinearity and a trainable scale (reference
    `nn.DenseLayer(..., nonlinearity=None, train_scale=True)`); the hidden layers use
    reference `nn.relu`, max(x, 0), and a frozen scale. Call `initialize` once on a real batch
    (the reference uses 500 training images) before training.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int] = (1, 28, 28),
        num_classes: int = 10,
        *,
        hidden_dims: tuple[int, ...] = HIDDEN_DIMS,
        input_noise: float = 0.3,
        hidden_noise: float = 0.5,
        v_std: float = 0.1,
    ) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.input_noise = GaussianNoise(input_noise)
        dims = (math.prod(image_shape), *hidden_dims)
        self.hidden = nn.ModuleList(
            WeightNormLinear(i, o, train_scale=False, v_std=v_std)
            for i, o in zip(dims[:-1], dims[1:], strict=True)
        )
        self.hidden_noise = nn.ModuleList(GaussianNoise(hidden_noise) for _ in hidden_dims)
        self.out = WeightNormLinear(dims[-1], num_classes, train_scale=True, v_std=v_std)

    @property
    def feature_dim(self) -> int:
        """Width of the feature-matching layer (250)."""
        return self.hidden[-1].out_features

    def features_and_logits(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Features for feature matching and class logits from one forward pass.

        Features: reference `layers[-3]` in train_mnist_feature_matching.py, the last hidden
        layer after ReLU and before its noise. The reference draws separate noise for its
        feature pass and its logits pass; one pass serves both here, which is the same
        distribution for each output.
        """
        h = self.input_noise(x.flatten(1))
        for layer, noise in zip(self.hidden[:-1], self.hidden_noise[:-1], strict=True):
            h = noise(F.relu(layer(h)))
        features = F.relu(self.hidden[-1](h))
        return features, self.out(self.hidden_noise[-1](features))

    def forward(self, x: Tensor) -> Tensor:
        """Class logits [B, K] for images [B, C, H, W] in [0, 1]."""
        return self.features_and_logits(x)[1]

    @torch.no_grad()
    def initialize(self, x: Tensor, *, noise: bool = True) -> None:
        """Data-dependent weight-norm initialization, layer by layer in order.

        Each layer's g and bias are set so that its pre-activations on this batch have zero
        mean and unit variance per unit, given the already initialized layers below it.
        Reference: `LL.get_output(layers[-1], x_lab, deterministic=False, init=True)`, i.e. the
        Gaussian noise layers are active during the init pass; `noise=False` turns them off.
        The module's train/eval mode is restored afterwards.
        """
        was_training = self.training
        noise_modules = [self.input_noise, *self.hidden_noise]
        for m in noise_modules:
            m.train(noise)
        try:
            h = self.input_noise(x.flatten(1))
            for layer, noise_layer in zip(self.hidden, self.hidden_noise, strict=True):
                h = noise_layer(F.relu(layer.data_init(h)))
            self.out.data_init(h)
        finally:
            for m in noise_modules:
                m.train(was_training)


class ImprovedGenerator(nn.Module):
    """MLP 100-500-500-784: two (Linear, BatchNorm shift, softplus) blocks, then a
    weight-normalized Linear and a sigmoid.

    z is uniform on [0, 1) of dimension 100 in the reference (the training loop supplies it). There is
    no `initialize`: in the reference none of the generator's layers has init updates
    (`l2normalize` and Lasagne's `DenseLayer` ignore `init=True`).
    """

    def __init__(self, image_shape: tuple[int, int, int] = (1, 28, 28), z_dim: int = 100, *,
                 hidden_dims: tuple[int, ...] = GEN_HIDDEN_DIMS) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.image_shape = tuple(image_shape)
        dims = (z_dim, *hidden_dims)
        blocks: list[nn.Module] = []
        for i, o in zip(dims[:-1], dims[1:], strict=True):
            # Bias-free: reference nn.batch_norm deletes the dense layer's bias.
            linear = nn.Linear(i, o, bias=False)
            nn.init.xavier_uniform_(linear.weight)  # Lasagne DenseLayer default GlorotUniform
            blocks += [linear, BatchNormShift(o), nn.Softplus()]
        self.hidden = nn.Sequential(*blocks)
        # reference nn.l2normalize(LL.DenseLayer(..., nonlinearity=sigmoid)): train_scale=True,
        # W_scale 1, eps 1e-6 inside the sqrt, bias 0, GlorotUniform W.
        self.out = WeightNormLinear(
            dims[-1], math.prod(image_shape), train_scale=True, v_init="glorot_uniform", eps=1e-6
        )

    def forward(self, z: Tensor) -> Tensor:
        """Images [B, C, H, W] in [0, 1] from z [B, z_dim]; needs B > 1 (batch statistics)."""
        return torch.sigmoid(self.out(self.hidden(z))).view(-1, *self.image_shape)
