"""Training: the SGAN step, in one place, and the loop that runs, records and checkpoints it.

`Trainer.step` holds all three updates in the tutorials' order:
  1. the supervised discriminator update on a labeled batch,
  2. the unsupervised discriminator update on real unlabeled (target 1) and generated (target 0)
     images,
  3. the generator update through the discriminator, whose weights it leaves unchanged.
The supervised baseline (`method="supervised"`) is the same loop with update 1 alone.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import platform
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from sgan import losses
from sgan.checkpoint import CheckpointError, load_checkpoint, load_state, save_checkpoint
from sgan.config import Config, config_from_dict
from sgan.data import SemiSupervisedSplit, make_split
from sgan.models import build_discriminator, build_generator
from sgan.runtime import retain_freed_memory


class TrainingError(Exception):
    """Training cannot go on: a non-finite loss, or a run directory that cannot be resumed."""


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM: a checkpoint was saved and the run can be resumed."""


class BatchSampler:
    """Batches of indices into a pool of n examples.

    "random" draws with replacement, as the tutorials' np.random.randint does. "epoch" walks
    shuffled passes and joins the next pass on when one runs out, so every batch is full and a
    labeled set smaller than the batch is cycled (improved-gan). "fit" is Keras' fit(): shuffled
    passes whose last batch holds what is left (100 examples in batches of 32: 32, 32, 32, 4).
    """

    def __init__(self, n: int, batch_size: int, mode: str, generator: torch.Generator) -> None:
        if mode not in ("random", "epoch", "fit"):
            raise ValueError(f"unknown sampling mode {mode!r}; choose random, epoch or fit")
        self.n, self.batch_size, self.mode, self.generator = n, batch_size, mode, generator
        self.order = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def next(self) -> torch.Tensor:
        if self.mode == "random":
            return torch.randint(self.n, (self.batch_size,), generator=self.generator)
        if self.mode == "fit" and self.pos >= len(self.order):
            self.order, self.pos = torch.randperm(self.n, generator=self.generator), 0
        while self.mode == "epoch" and len(self.order) - self.pos < self.batch_size:
            self.order = torch.cat([self.order[self.pos :], torch.randperm(self.n, generator=self.generator)])
            self.pos = 0
        idx = self.order[self.pos : self.pos + self.batch_size]
        self.pos += len(idx)
        return idx

    def state_dict(self) -> dict[str, Any]:
        return {"order": self.order.clone(), "pos": self.pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.order, self.pos = state["order"], int(state["pos"])


@contextlib.contextmanager
def frozen(discriminator: nn.Module, batch_stats: bool) -> Iterator[None]:
    """The discriminator as Keras' combined model sees it: weights not trainable.

    With `batch_stats` (Keras 2, as the book ran) BatchNorm still normalises with the batch's
    statistics but leaves its moving averages alone; without it (Keras 3) BatchNorm runs in
    inference mode. Weight gradients are switched off, so backward computes only the input
    gradients the generator needs, and the discriminator's weights cannot move.
    """
    params = [p for p in discriminator.parameters() if p.requires_grad]
    norms = [m for m in discriminator.modules() if isinstance(m, _BatchNorm)]
    saved = [(m.track_running_stats, m.training) for m in norms]
    for p in params:
        p.requires_grad_(False)
    for m in norms:
        if batch_stats:
            m.track_running_stats = False  # in training mode: batch statistics, no update
        else:
            m.eval()
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)
        for m, (track, training) in zip(norms, saved, strict=True):
            m.track_running_stats = track
            m.train(training)


def ema_with_warmup(decay: float) -> Any:
    """An EMA whose decay ramps up as min(decay, (1 + n) / (10 + n)) after n updates.

    As tf.train.ExponentialMovingAverage with num_updates: with decay 0.9999 a plain EMA still
    weighs the initial network ~55% after 6000 steps, so early evaluations would measure the
    initialisation; the ramp makes them track training, and from ~100k updates on it is the plain
    EMA the reference uses.
    """

    @torch.no_grad()
    def update(ema: list[torch.Tensor], current: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        n = float(num_averaged)
        torch._foreach_lerp_(ema, current, 1.0 - min(decay, (1.0 + n) / (10.0 + n)))

    return update


@torch.inference_mode()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class predictions in inference mode (BatchNorm moving averages, no dropout or noise).

    Batches of 256 keep a convolutional network's activations in cache: on the 2-core dev
    machine `gia` classified 71k test images/s against 54k in batches of 1000 (`stacked`: 20k
    against 19k; 7k before sgan.runtime kept freed memory).
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(images[i : i + batch_size]).argmax(1) for i in range(0, len(images), batch_size)])
    finally:
        model.train(was_training)


def evaluate(model: nn.Module, images: torch.Tensor, targets: torch.Tensor, num_classes: int = 10) -> dict[str, Any]:
    """Accuracy, error count, per-class accuracy and confusion matrix (rows: true class)."""
    pred = predict(model, images).numpy()
    true = targets.numpy()
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (true, pred), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(1), 1)
    return {
        "accuracy": float((pred == true).mean()),
        "errors": int((pred != true).sum()),
        "per_class_accuracy": [round(float(a), 6) for a in per_class],
        "confusion": confusion.tolist(),
    }


def default_run_dir(config: Config) -> Path:
    return Path("runs") / f"{config.preset}-{config.method}-{config.labels}-s{config.seed}"


class Trainer:
    """Owns the networks, optimizers and samplers of one run; `fit()` runs it to the end."""

    def __init__(self, config: Config, split: SemiSupervisedSplit | None = None, progress: bool = True) -> None:
        config.validate()
        self.config = config
        self.progress = progress
        if config.threads:
            torch.set_num_threads(config.threads)
        retain_freed_memory()  # process-wide; see sgan.runtime
        torch.manual_seed(config.seed)
        self.split = split or make_split(
            dataset=config.dataset, data_dir=config.data_dir, labels=config.labels,
            label_selection=config.label_selection, unlabeled=config.unlabeled,
            pixel_range=config.pixel_range, num_classes=config.num_classes,
            seed=config.subset_seed,
        )
        self.run_dir = Path(config.out) if config.out else default_run_dir(config)
        self.supervised_only = config.method == "supervised"
        self.total_steps = config.run_steps

        self.discriminator = build_discriminator(config)
        if config.d_update == "joint" and any(isinstance(m, _BatchNorm) for m in self.discriminator.modules()):
            raise ValueError("d_update='joint' passes labeled, real and fake images as one batch: "
                             "it needs a discriminator without BatchNorm")
        self.generator = None if self.supervised_only else build_generator(config)
        for net in (self.discriminator, self.generator):
            if net is not None and config.channels_last:  # 1-channel inputs are both layouts already
                net.to(memory_format=torch.channels_last)
        self.data_rng = torch.Generator().manual_seed(config.seed + 1)
        self._initialize_networks()
        self.ema = None
        if config.ema_decay is not None:
            self.ema = AveragedModel(self.discriminator, multi_avg_fn=ema_with_warmup(config.ema_decay),
                                     use_buffers=True)
        if config.compile:  # in place, after the EMA's copy: state_dict keys stay portable
            for net in (self.discriminator, self.generator):
                if net is not None:
                    net.compile()

        # fused: one kernel for the whole parameter list (PyTorch >= 2.4 has it on CPU).
        adam = dict(lr=config.lr, betas=(config.beta1, config.beta2), eps=config.adam_eps, fused=True)
        d_params = list(self.discriminator.parameters())
        self.opt_sup = torch.optim.Adam(d_params, **adam)
        # Keras compiles the supervised and unsupervised discriminator models separately: with
        # separate Adam instances (the book) each keeps its own moments; with one instance
        # shared by both (the stacked tutorial, tf.keras) the moments are shared.
        separate = config.d_update == "separate" and not config.shared_d_optimizer
        self.opt_unsup = torch.optim.Adam(d_params, **adam) if separate else self.opt_sup
        self.opt_g = None if self.generator is None else torch.optim.Adam(self.generator.parameters(), **adam)

        batch = config.baseline_batch_size if self.supervised_only else config.labeled_batch_size
        sampling = "fit" if self.supervised_only else config.labeled_sampling
        n_unl = len(self.split.unlabeled_images)
        self.labeled_sampler = BatchSampler(len(self.split.labeled_images), batch, sampling, self.data_rng)
        self.unlabeled_sampler = BatchSampler(n_unl, config.unlabeled_batch_size, config.labeled_sampling,
                                              self.data_rng)
        # improved-gan draws the generator's feature-matching batch from a second permutation.
        self.matching_sampler = BatchSampler(n_unl, config.unlabeled_batch_size, config.labeled_sampling, self.data_rng)
        self.sample_z = self.noise(100, torch.Generator().manual_seed(config.seed + 2))

        self.step_count = 0
        self.history: list[dict[str, float]] = []
        self.wall_seconds = 0.0
        self._interval: dict[str, list[float]] = {}
        self._stop_signal: int | None = None

    # ------------------------------------------------------------------ the SGAN step
    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.config.z_dist == "normal":
            return torch.randn(n, self.config.z_dim, generator=generator)
        if self.config.z_dist == "uniform":
            return torch.rand(n, self.config.z_dim, generator=generator)
        raise ValueError(f"unknown z_dist {self.config.z_dist!r}; choose normal or uniform")

    def autocast(self, network: str = "discriminator") -> contextlib.AbstractContextManager:
        """bf16 autocast for `network` where the precision asks for it.

        "bf16-generator" leaves the classifier in float32: the generator holds most of a conv
        preset's arithmetic, and the classifier is what the accuracy is measured on.
        """
        on = self.config.precision == "bf16" or (self.config.precision == "bf16-generator"
                                                 and network == "generator")
        # No cast cache: autocast caches each weight's bf16 copy for the life of the context,
        # and a step runs up to four optimizer updates inside one context, so with the cache the
        # book's real and fake updates would run on the weights from before the supervised one.
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=on, cache_enabled=False)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """The generator's images in float32, whatever precision it computed them in."""
        with self.autocast("generator"):
            return self.generator(z).float()

    def step(self, x_lab: torch.Tensor, y_lab: torch.Tensor, x_unl: torch.Tensor | None = None,
             x_match: torch.Tensor | None = None) -> dict[str, float]:
        """One training iteration. Returns the losses and the labeled batch's accuracy."""
        cfg, G, D = self.config, self.generator, self.discriminator
        with self.autocast():
            # -- 1. supervised discriminator update (joint mode folds it into update 2) -----
            if self.supervised_only or cfg.d_update == "separate":
                logits_lab = D(x_lab).float()
                loss_sup = losses.supervised_loss(logits_lab, y_lab)
                self.opt_sup.zero_grad(set_to_none=True)
                loss_sup.backward()
                self.opt_sup.step()
                if self.supervised_only:
                    self._update_ema()
                    return {"d_sup": loss_sup.item(), "acc": self._accuracy(logits_lab, y_lab)}

            # Generated images for the discriminator. Keras' generator.predict() runs
            # BatchNorm in inference mode on a batch of its own ("eval"); otherwise one forward
            # pass serves both updates: its first fake_batch_size images, detached, for the
            # discriminator and the whole batch, with its graph, for the generator.
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

            # -- 2. unsupervised discriminator update: real -> 1, generated -> 0 -------------
            if cfg.d_update == "separate":  # two train_on_batch calls, as both tutorials
                loss_real = losses.real_loss(D(x_unl).float())
                self.opt_unsup.zero_grad(set_to_none=True)
                loss_real.backward()
                self.opt_unsup.step()
                loss_fake = losses.fake_loss(D(fake_d).float())
                self.opt_unsup.zero_grad(set_to_none=True)
                loss_fake.backward()
                self.opt_unsup.step()
                loss_unsup = 0.5 * (loss_real.detach() + loss_fake.detach())
            else:  # one update on the summed loss (Salimans et al.), one forward pass for all
                # three batches: the same function as three passes for a discriminator without
                # BatchNorm (checked in __init__), and one large matrix product is faster.
                n_lab, n_unl = len(x_lab), len(x_unl)
                logits = D(torch.cat([x_lab, x_unl, fake_d])).float()
                logits_lab = logits[:n_lab]
                loss_sup = losses.supervised_loss(logits_lab, y_lab)
                loss_unsup = losses.unsupervised_loss(logits[n_lab : n_lab + n_unl], logits[n_lab + n_unl :])
                self.opt_sup.zero_grad(set_to_none=True)
                (loss_sup + cfg.unlabeled_weight * loss_unsup).backward()
                self.opt_sup.step()
            self._update_ema()

            # -- 3. generator update through the frozen discriminator -------------------------
            if fake is None:
                fake = self.generate(z)
            with frozen(D, batch_stats=cfg.frozen_d_batch_stats):
                if cfg.g_loss == "bce":
                    loss_g = losses.generator_loss(D(fake).float())
                elif cfg.g_loss == "feature_matching":
                    with torch.no_grad():
                        real_features, _ = D.features_and_logits(x_match)
                    fake_features, _ = D.features_and_logits(fake)
                    loss_g = losses.feature_matching_loss(real_features.float(), fake_features.float())
                else:
                    raise ValueError(f"unknown g_loss {cfg.g_loss!r}; choose bce or feature_matching")
                self.opt_g.zero_grad(set_to_none=True)
                loss_g.backward()
            self.opt_g.step()

        return {"d_sup": loss_sup.item(), "d_unsup": loss_unsup.item(), "g": loss_g.item(),
                "acc": self._accuracy(logits_lab, y_lab)}

    def _update_ema(self) -> None:
        if self.ema is not None:
            self.ema.update_parameters(self.discriminator)

    @staticmethod
    def _accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
        return (logits.argmax(1) == targets).float().mean().item()

    def _initialize_networks(self) -> None:
        """Data-dependent initialisation for networks that have it (weight normalisation)."""
        if hasattr(self.discriminator, "initialize"):
            pool = self.split.labeled_images if self.supervised_only else self.split.unlabeled_images
            idx = torch.randperm(len(pool), generator=self.data_rng)[:500]
            with torch.no_grad():
                self.discriminator.initialize(pool[idx])
        if self.generator is not None and hasattr(self.generator, "initialize"):
            with torch.no_grad():
                self.generator.initialize(self.noise(500, self.data_rng))

    def next_batch(self) -> tuple[torch.Tensor, ...]:
        s = self.split
        idx = self.labeled_sampler.next()
        x_lab, y_lab = s.labeled_images[idx], s.labeled_targets[idx]
        if self.supervised_only:
            return x_lab, y_lab
        x_unl = s.unlabeled_images[self.unlabeled_sampler.next()]
        x_match = s.unlabeled_images[self.matching_sampler.next()] if self.config.g_loss == "feature_matching" else None
        return x_lab, y_lab, x_unl, x_match

    # ------------------------------------------------------------------ the loop
    @property
    def classifier(self) -> nn.Module:
        """The network evaluated: the EMA of the discriminator's weights where configured."""
        return self.ema.module if self.ema is not None else self.discriminator

    def fit(self) -> dict[str, Any]:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        from sgan import report  # matplotlib is imported only when a run writes its pictures

        report.write_json(self.run_dir / "config.json", self.config.to_dict())
        interval = self.config.sample_interval
        bar = tqdm(total=self.total_steps, initial=self.step_count, disable=not self.progress,
                   desc=f"{self.config.preset} {self.config.method}", unit="step", dynamic_ncols=True)
        start = time.perf_counter() - self.wall_seconds
        with self._signals_caught(), bar:
            while self.step_count < self.total_steps:
                stats = self.step(*self.next_batch())
                bad = [k for k, v in stats.items() if not math.isfinite(v)]
                if bad:
                    raise TrainingError(
                        f"non-finite {', '.join(bad)} loss at step {self.step_count + 1}; stopped. The last good "
                        f"checkpoint is {self.run_dir / 'checkpoint.pt'} (step {self._last_saved_step()})"
                    )
                self.step_count += 1
                for k, v in stats.items():
                    self._interval.setdefault(k, []).append(v)
                bar.update(1)
                if self.step_count % 10 == 0 or self.step_count == self.total_steps:
                    bar.set_postfix({k: f"{v:.3f}" for k, v in stats.items()}, refresh=False)
                if self.step_count % interval == 0 or self.step_count == self.total_steps:
                    self.wall_seconds = time.perf_counter() - start
                    self._record(bar)
                if self._stop_signal is not None:
                    self.wall_seconds = time.perf_counter() - start
                    self.save()
                    raise TrainingInterrupted(
                        f"stopped by signal {signal.Signals(self._stop_signal).name} at step {self.step_count}; "
                        f"resume with: sgan train --resume {self.run_dir}"
                    )
        self.wall_seconds = time.perf_counter() - start
        result = self.finish()
        return result

    def _record(self, bar: tqdm) -> None:
        """Evaluate on the test set, write history, samples and a checkpoint."""
        from sgan import report

        test = evaluate(self.classifier, self.split.test_images, self.split.test_targets, self.config.num_classes)
        row = {"step": self.step_count, "wall_seconds": round(self.wall_seconds, 3)}
        for k, v in self._interval.items():
            row["labeled_batch_acc" if k == "acc" else f"{k}_loss"] = float(np.mean(v))
        row["test_accuracy"] = test["accuracy"]
        self.history.append(row)
        self._interval = {}
        bar.write(f"step {self.step_count}: test accuracy {100 * test['accuracy']:.2f}%  "
                  + "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k.endswith("loss")))
        write_history(self.run_dir / "history.csv", self.history)
        if self.generator is not None:
            report.save_grid(self.generated(self.sample_z), self.run_dir / "samples.png", self.config.pixel_range)
        self.save()

    @torch.inference_mode()
    def generated(self, z: torch.Tensor) -> torch.Tensor:
        was_training = self.generator.training
        self.generator.eval()
        try:
            return self.generate(z)
        finally:
            self.generator.train(was_training)

    def finish(self) -> dict[str, Any]:
        """Final evaluation and the run directory's report."""
        from sgan import report

        s, cfg = self.split, self.config
        test = evaluate(self.classifier, s.test_images, s.test_targets, cfg.num_classes)
        train = evaluate(self.classifier, s.labeled_images, s.labeled_targets, cfg.num_classes)
        result = {
            "preset": cfg.preset,
            "method": cfg.method,
            "model": cfg.model,
            "dataset": cfg.dataset,
            "labels": len(s.labeled_images),
            "seed": cfg.seed,
            "label_seed": cfg.subset_seed,
            "steps": self.step_count,
            "test_accuracy": test["accuracy"],
            "test_errors": test["errors"],
            "test_size": len(s.test_images),
            "labeled_train_accuracy": train["accuracy"],
            "per_class_accuracy": test["per_class_accuracy"],
            "confusion": test["confusion"],
            "evaluated_with": "ema" if self.ema is not None else "weights",
            "precision": cfg.precision,
            "compile": cfg.compile,
            "labeled_indices_sha256": s.labeled_sha256,
            "labeled_class_counts": np.bincount(s.labeled_targets.numpy(), minlength=cfg.num_classes).tolist(),
            "unlabeled_pool": len(s.unlabeled_images),
            "wall_seconds": round(self.wall_seconds, 2),
            "seconds_per_step": round(self.wall_seconds / max(self.step_count, 1), 5),
            "torch_version": torch.__version__,
            "machine": machine_info(),
            "data_source": str(s.source),
            "run_dir": str(self.run_dir),
        }
        report.write_run_report(self.run_dir, result, self.history)
        return result

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, Any]:
        state = {
            "config": self.config.to_dict(),
            "step": self.step_count,
            "wall_seconds": self.wall_seconds,
            "history": self.history,
            "discriminator": self.discriminator.state_dict(),
            "opt_sup": self.opt_sup.state_dict(),
            "rng": torch.get_rng_state(),
            "data_rng": self.data_rng.get_state(),
            "samplers": [s.state_dict() for s in (self.labeled_sampler, self.unlabeled_sampler, self.matching_sampler)],
            "labeled_indices_sha256": self.split.labeled_sha256,
        }
        if self.opt_unsup is not self.opt_sup:
            state["opt_unsup"] = self.opt_unsup.state_dict()
        if self.generator is not None:
            state["generator"] = self.generator.state_dict()
            state["opt_g"] = self.opt_g.state_dict()
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any], path: Path) -> None:
        if state.get("labeled_indices_sha256") != self.split.labeled_sha256:
            raise CheckpointError(f"{path}: checkpoint was trained on a different labeled subset")
        load_state(self.discriminator, state["discriminator"], "discriminator", path)
        if self.generator is not None:
            load_state(self.generator, state["generator"], "generator", path)
            self.opt_g.load_state_dict(state["opt_g"])
        if self.ema is not None:
            load_state(self.ema, state["ema"], "EMA", path)
        self.opt_sup.load_state_dict(state["opt_sup"])
        if self.opt_unsup is not self.opt_sup:
            self.opt_unsup.load_state_dict(state["opt_unsup"])
        torch.set_rng_state(state["rng"])
        self.data_rng.set_state(state["data_rng"])
        for sampler, s in zip((self.labeled_sampler, self.unlabeled_sampler, self.matching_sampler),
                              state["samplers"], strict=True):
            sampler.load_state_dict(s)
        self.step_count = int(state["step"])
        self.wall_seconds = float(state["wall_seconds"])
        self.history = list(state["history"])

    def save(self) -> None:
        save_checkpoint(self.state_dict(), self.run_dir / "checkpoint.pt")

    def _last_saved_step(self) -> int:
        return int(self.history[-1]["step"]) if self.history else 0

    @contextlib.contextmanager
    def _signals_caught(self) -> Iterator[None]:
        """SIGINT and SIGTERM finish the current step, then save and stop (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: Any) -> None:
            self._stop_signal = signum

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)


def write_history(path: Path, rows: list[dict[str, float]]) -> None:
    keys = list(dict.fromkeys(k for row in rows for k in row))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)


def read_history(run: str | Path) -> list[dict[str, float]]:
    """A run's history.csv (given its directory or the file) as rows of floats, by step; blank
    cells are left out."""
    path = Path(run)
    path = path / "history.csv" if path.is_dir() else path
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no history.csv (has the run written its first evaluation?)")
    with open(path, newline="") as f:
        rows = [{k: float(v) for k, v in row.items() if v not in (None, "")} for row in csv.DictReader(f)]
    return sorted(rows, key=lambda row: row["step"])


def machine_info() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(), "python": platform.python_version()}


def train(config: Config, progress: bool = True, split: SemiSupervisedSplit | None = None) -> dict[str, Any]:
    """Train one run (SGAN or the supervised baseline) and return its report.

    A run directory that already holds a checkpoint is never overwritten: `resume` continues it.
    """
    trainer = Trainer(config, split=split, progress=progress)
    if (trainer.run_dir / "checkpoint.pt").exists():
        raise TrainingError(f"{trainer.run_dir} already holds a run; continue it with "
                            f"`sgan train --resume {trainer.run_dir}` or choose another --out")
    return trainer.fit()


def resume(run: str | Path, steps: int | None = None, threads: int | None = None, data_dir: str | None = None,
           progress: bool = True) -> dict[str, Any]:
    """Continue an interrupted run from its checkpoint, with the configuration saved there.

    `steps` extends (or sets) the run's length; `threads` and `data_dir` say how and from where
    this machine runs it, which may differ from the machine that started it. The run directory
    is the checkpoint's folder.
    """
    path = Path(run)
    state = load_checkpoint(path)
    config = config_from_dict(state["config"])
    run_dir = path if path.is_dir() else path.parent
    config = config.replace(out=str(run_dir))
    config = config.replace(**{k: v for k, v in (("threads", threads), ("data_dir", data_dir)) if v is not None})
    if steps is not None:
        config = config.with_steps(steps)
    trainer = Trainer(config, progress=progress)
    trainer.load_state_dict(state, path)
    if trainer.step_count >= trainer.total_steps and (run_dir / "report.json").is_file():
        raise TrainingError(f"{run_dir}: run already complete at step {trainer.step_count}; pass --steps to extend it")
    return trainer.fit()
