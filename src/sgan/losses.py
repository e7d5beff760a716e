"""The two heads of one discriminator, and the generator's objectives.

The discriminator emits K class logits l. The supervised head is softmax(l). The unsupervised
head is D(x) = Z / (Z + 1) with Z = sum_k exp(l_k) (Salimans et al. 2016), which is exactly
sigmoid(log Z) = sigmoid(logsumexp(l)). Computing it that way never overflows: exp(l) alone is
inf for l > 88 in float32, and Z/(Z+1) then becomes nan.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def real_logit(logits: torch.Tensor) -> torch.Tensor:
    """log Z: the logit of the real-vs-fake probability D(x)."""
    return torch.logsumexp(logits, dim=1)


def real_probability(logits: torch.Tensor) -> torch.Tensor:
    """D(x) = Z/(Z+1), evaluated stably as sigmoid(logsumexp(logits))."""
    return torch.sigmoid(real_logit(logits))


def supervised_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy over the K real classes (Keras' categorical_crossentropy)."""
    return F.cross_entropy(logits, targets)


def real_loss(logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of D(x) against target 1 for real (unlabeled) images."""
    s = real_logit(logits)
    return F.binary_cross_entropy_with_logits(s, torch.ones_like(s))


def fake_loss(logits: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy of D(G(z)) against target 0 for generated images."""
    s = real_logit(logits)
    return F.binary_cross_entropy_with_logits(s, torch.zeros_like(s))


def unsupervised_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The discriminator's unsupervised loss: the mean of the real and fake terms.

    The tutorials report 0.5 * (loss_real + loss_fake); improved-gan's `loss_unl` is the same
    expression written with softplus.
    """
    return 0.5 * (real_loss(real_logits) + fake_loss(fake_logits))


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The combined model's loss: generated images labelled real (the non-saturating loss)."""
    return real_loss(fake_logits)


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Distance between the mean discriminator features of a real and a generated batch.

    As openai/improved-gan's train_mnist_feature_matching.py computes it: the mean over
    features of the squared difference of batch means (the paper's ||.||^2, divided by the
    number of features). The real side carries no gradient; only the generator learns from it.
    """
    return (real_features.detach().mean(dim=0) - fake_features.mean(dim=0)).pow(2).mean()


def consistency_loss(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """CT-GAN's consistency term (Wei et al. 2018): the mean over examples and classes of the
    squared difference of the softmax outputs of two noisy passes of the same images."""
    return (F.softmax(logits_a, dim=1) - F.softmax(logits_b, dim=1)).pow(2).mean()


def pseudo_label_loss(logits_clean: torch.Tensor, logits_moved: torch.Tensor, threshold: float) -> torch.Tensor:
    """FixMatch's unlabeled term (Sohn et al. 2020): where the clean pass is at least `threshold`
    sure of a class, the cross-entropy of the augmented pass against that class, averaged over
    the whole batch (an unsure image adds 0). The clean pass is the target: no gradient."""
    confidence, target = F.softmax(logits_clean.detach().float(), dim=1).max(dim=1)
    per_image = F.cross_entropy(logits_moved.float(), target, reduction="none")
    return (per_image * (confidence >= threshold)).mean()


def entropy_loss(logits: torch.Tensor) -> torch.Tensor:
    """Bad GAN's conditional entropy (Dai et al. 2017): the mean of -sum_k p_k log p_k over
    examples, which pushes unlabeled predictions to be confident."""
    log_p = F.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1).mean()


def class_balance_loss(logits: torch.Tensor) -> torch.Tensor:
    """CatGAN's marginal entropy term (Springenberg 2016) as a divergence: log K - H(p_bar), the
    KL divergence of the batch's mean prediction p_bar from the uniform distribution. Zero when
    the classes are predicted equally often; it grows when a class absorbs another's images."""
    p_bar = F.softmax(logits.float(), dim=1).mean(dim=0)
    return math.log(logits.shape[1]) + torch.xlogy(p_bar, p_bar).sum()
