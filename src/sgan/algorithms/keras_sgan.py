"""The tutorials' SGAN (GANs in Action ch. 7; the stacked-discriminator tutorial), as Keras ran it.

Each step is three updates in the tutorials' order, each one Keras `train_on_batch`:
  1. the supervised discriminator update on a labeled batch,
  2. the unsupervised discriminator update: real unlabeled images (target 1), then generated
     ones (target 0), two updates,
  3. the generator update through the frozen discriminator.

The Keras behaviours the results depend on are this algorithm's options (sgan.config):
`fake_mode` ("eval": `generator.predict()` runs BatchNorm on moving averages, on a batch of its
own), `frozen_d_batch_stats` (Keras 2's frozen BatchNorm still uses batch statistics) and
`shared_d_optimizer` (one Adam state for both discriminator models, as tf.keras shares slots).
"""

from __future__ import annotations

import torch

from sgan import losses
from sgan.algorithms.base import Algorithm, Batch, frozen


class KerasSGAN(Algorithm):
    name = "keras-sgan"
    batches = ("labeled", "unlabeled")

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Algorithm's arguments
        super().__init__(*args, **kwargs)
        d_params = list(self.discriminator.parameters())
        # Keras compiles the supervised and unsupervised discriminator models separately: with
        # separate Adam instances (the book) each keeps its own moments.
        self.opt_sup = self.adam(d_params)
        self.opt_unsup = self.opt_sup if self.config.shared_d_optimizer else self.adam(d_params)
        self.opt_g = self.adam(list(self.generator.parameters()))

    def optimizers(self) -> dict:
        shared = self.opt_unsup is self.opt_sup
        return {"opt_sup": self.opt_sup, **({} if shared else {"opt_unsup": self.opt_unsup}), "opt_g": self.opt_g}

    def step(self, batch: Batch) -> dict[str, float]:
        cfg, G, D = self.config, self.generator, self.discriminator

        # -- 1. supervised discriminator update -------------------------------------------
        logits_lab = D(batch.x_lab).float()
        loss_sup = losses.supervised_loss(logits_lab, batch.y_lab)
        self.opt_sup.zero_grad(set_to_none=True)
        loss_sup.backward()
        self.opt_sup.step()

        # Generated images for the discriminator. "eval": Keras' generator.predict(), BatchNorm
        # on its moving averages, a batch of its own; "train": one forward pass serves both
        # updates, its first fake_batch_size images, detached, for the discriminator.
        z = self.noise(cfg.gen_batch_size)
        if cfg.fake_mode == "eval":
            G.eval()
            with torch.no_grad():
                fake_d = self.generate(self.noise(cfg.fake_batch_size))
            G.train()
            fake = None
        else:
            fake = self.generate(z)
            fake_d = fake[: cfg.fake_batch_size].detach()

        # -- 2. unsupervised discriminator update: real -> 1, then generated -> 0 -------------
        loss_real = losses.real_loss(D(batch.x_unl).float())
        self.opt_unsup.zero_grad(set_to_none=True)
        loss_real.backward()
        self.opt_unsup.step()
        loss_fake = losses.fake_loss(D(fake_d).float())
        self.opt_unsup.zero_grad(set_to_none=True)
        loss_fake.backward()
        self.opt_unsup.step()

        # -- 3. generator update through the frozen discriminator -----------------------------
        if fake is None:
            fake = self.generate(z)
        with frozen(D, batch_stats=cfg.frozen_d_batch_stats):
            loss_g = losses.generator_loss(D(fake).float())
            self.opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
        self.opt_g.step()

        loss_unsup = 0.5 * (loss_real.detach() + loss_fake.detach())
        return {"d_sup": loss_sup.item(), "d_unsup": loss_unsup.item(),
                "g": loss_g.item(), "acc": self.accuracy(logits_lab, batch.y_lab)}
