"""Salimans et al. 2016 ("Improved Techniques for Training GANs"): one joint discriminator update
and a feature-matching generator update, as openai/improved-gan's MNIST script.

  1. the discriminator: supervised cross-entropy on the labeled batch plus `unlabeled_weight`
     times the unsupervised loss on unlabeled (real) and generated images, plus the optional
     terms below, one update;
  2. the generator: match the mean of the discriminator's features on a second unlabeled batch.

Options: `unlabeled_weight`; `fresh_generator_noise` (the generator's update on a new batch of
noise, as the reference draws it, instead of the batch made for the discriminator);
`consistency_weight` (CT-GAN: the unlabeled batch passes twice, with independent noise, and
their softmax outputs are pulled together; with `consistency_shift` and `consistency_rotation`
the second pass sees it moved by a few pixels and turned by a few degrees, the Pi-model's
augmentation); `pseudo_label_weight` (FixMatch: the moved pass learns the clean pass's class
where that is confident); `entropy_weight` (Bad GAN: confident predictions
on unlabeled images); `class_balance_weight` (CatGAN's marginal entropy: every class predicted
about equally often on an unlabeled batch); `teacher_weight` (Mean Teacher: the unlabeled
predictions pulled towards those of the weight average). The discriminator must be free of
BatchNorm: its batches go through it as one.
"""

from __future__ import annotations

import torch
from torch.nn.modules.batchnorm import _BatchNorm

from sgan import losses
from sgan.algorithms.base import Algorithm, Batch, frozen
from sgan.data.augment import random_rotation, random_shift


class FeatureMatching(Algorithm):
    name = "feature-matching"
    batches = ("labeled", "unlabeled", "matching")

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Algorithm's arguments
        super().__init__(*args, **kwargs)
        if any(isinstance(m, _BatchNorm) for m in self.discriminator.modules()):
            raise ValueError("the feature-matching algorithm passes labeled, real and fake images as one batch: "
                             "it needs a discriminator without BatchNorm (model 'improved')")
        self.opt_sup = self.adam(list(self.discriminator.parameters()))
        self.opt_g = self.adam(list(self.generator.parameters()))

    def optimizers(self) -> dict:
        return {"opt_sup": self.opt_sup, "opt_g": self.opt_g}

    def step(self, batch: Batch) -> dict[str, float]:
        cfg, D = self.config, self.discriminator
        z = self.noise(cfg.gen_batch_size)
        fake = self.generate(z)

        # -- 1. joint discriminator update: one forward pass for all batches (the same function
        # as separate passes without BatchNorm, and one large matrix product is faster).
        # Rows: labeled | unlabeled | fakes | [unlabeled again, moved: consistency and pseudo-label terms]
        n_lab, n_unl, n_fake = len(batch.x_lab), len(batch.x_unl), min(cfg.fake_batch_size, len(fake))
        parts = [batch.x_lab, batch.x_unl, fake[:n_fake].detach()]
        if cfg.consistency_weight or cfg.pseudo_label_weight:
            turned = random_rotation(batch.x_unl, cfg.consistency_rotation, self.augment_rng)
            parts.append(random_shift(turned, cfg.consistency_shift, self.augment_rng))
        logits = D(torch.cat(parts)).float()
        logits_lab, logits_unl = logits[:n_lab], logits[n_lab : n_lab + n_unl]
        logits_fake = logits[n_lab + n_unl : n_lab + n_unl + n_fake]
        logits_moved = logits[n_lab + n_unl + n_fake :]  # empty without the moved pass
        loss_sup = losses.supervised_loss(logits_lab, batch.y_lab)
        loss_unsup = losses.unsupervised_loss(logits_unl, logits_fake)
        loss_d = loss_sup + cfg.unlabeled_weight * loss_unsup
        stats = {}
        if cfg.consistency_weight:
            loss_ct = losses.consistency_loss(logits_unl, logits_moved)
            loss_d = loss_d + cfg.consistency_weight * loss_ct
            stats["consistency"] = loss_ct
        if cfg.pseudo_label_weight:
            stats["pseudo_label"] = losses.pseudo_label_loss(logits_unl, logits_moved, cfg.pseudo_label_threshold)
            loss_d = loss_d + cfg.pseudo_label_weight * stats["pseudo_label"]
        if cfg.teacher_weight:
            with torch.no_grad():  # the teacher in training mode: its own noise, as the student's
                self.teacher.train()
                logits_teacher = self.teacher(batch.x_unl).float()
            stats["teacher"] = losses.consistency_loss(logits_unl, logits_teacher)
            loss_d = loss_d + cfg.teacher_weight * stats["teacher"]
        # terms of the unlabeled predictions alone: Bad GAN's entropy, CatGAN's class balance
        for name, weight, term in (("entropy", cfg.entropy_weight, losses.entropy_loss),
                                   ("class_balance", cfg.class_balance_weight, losses.class_balance_loss)):
            if weight:
                stats[name] = term(logits_unl)
                loss_d = loss_d + weight * stats[name]
        self.opt_sup.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt_sup.step()

        # -- 2. generator update: feature matching against a second unlabeled batch -----------
        if cfg.fresh_generator_noise:
            fake = self.generate(self.noise(cfg.gen_batch_size))
        with frozen(D, batch_stats=True):
            with torch.no_grad():
                real_features, _ = D.features_and_logits(batch.x_match)
            fake_features, _ = D.features_and_logits(fake)
            loss_g = losses.feature_matching_loss(real_features.float(), fake_features.float())
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        self.opt_g.step()

        return {"d_sup": loss_sup.item(), "d_unsup": loss_unsup.item(), "g": loss_g.item(),
                "acc": self.accuracy(logits_lab, batch.y_lab), **{k: v.item() for k, v in stats.items()}}
