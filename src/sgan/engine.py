"""The training loop: any algorithm, on any device, recorded, checkpointed and resumable.

`Trainer` places the data and networks on the device, runs the algorithm's `step` in the run's
precision, keeps the EMA of the classifier, evaluates every sample interval, writes the history,
sample grid and checkpoint, and stops cleanly on Ctrl-C or SIGTERM. What a step does is the
algorithm's (sgan.algorithms); this module knows none of them by name.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm import tqdm

from sgan.algorithms import algorithm_class
from sgan.algorithms.base import Batch
from sgan.checkpoint import CheckpointError, checkpoint_config, load_checkpoint, load_state, save_checkpoint
from sgan.config import Config, config_from_dict, on_this_machine
from sgan.data import DataError, SemiSupervisedSplit, make_split
from sgan.data.augment import random_shift
from sgan.data.split import own_split
from sgan.devices import autocast, resolve_device, rng_state, set_rng_state
from sgan.evaluation import evaluate
from sgan.files import RunInUse, run_lock
from sgan.models import build_discriminator, build_generator
from sgan.monitor import Monitor
from sgan.runlog import machine_info, write_history
from sgan.runtime import ThreadTuner, retain_freed_memory

# The samplers a checkpoint keeps, in this order (sgan 0.1 kept all three for every run).
SAMPLERS = ("labeled", "unlabeled", "matching")


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
    Indices are drawn on the CPU whatever the device, so every device trains on the same batches
    and a checkpoint's sampler state means the same thing everywhere.
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


def ema_with_warmup(decay: float) -> Any:
    """An EMA whose decay ramps up as min(decay, (1 + n) / (10 + n)) after n updates.

    As tf.train.ExponentialMovingAverage with num_updates: with decay 0.9999 a plain EMA still
    weighs the initial network ~55% after 6000 steps, so early evaluations would measure the
    initialisation; the ramp makes them track training, and from ~100k updates on it is the plain
    EMA the reference uses. Integer buffers (BatchNorm's batch counter) are copied, not averaged.
    """

    @torch.no_grad()
    def update(ema: list[torch.Tensor], current: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        n = float(num_averaged)
        pairs = [(e, c) for e, c in zip(ema, current, strict=True) if e.is_floating_point()]
        if pairs:
            torch._foreach_lerp_([e for e, _ in pairs], [c for _, c in pairs], 1.0 - min(decay, (1.0 + n) / (10.0 + n)))
        for e, c in zip(ema, current, strict=True):
            if not e.is_floating_point():
                e.copy_(c)

    return update


def match_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Optimizer moments in their parameters' memory layout.

    load_state_dict keeps the saved tensors' strides; a run saved in one layout (NCHW on a GPU)
    and resumed in another (channels-last on a CPU) would have the fused kernel pair each weight
    with another weight's moments.
    """
    for group in optimizer.param_groups:
        for p in group["params"]:
            for key, value in optimizer.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    optimizer.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


def run_split(config: Config, progress: bool = True) -> SemiSupervisedSplit:
    """The data a run trains on: the user's own images where `data` is set, else a named dataset."""
    if config.data is not None:
        if not Path(config.data).exists():
            raise DataError(f"{config.data}: the run's images are not there (moved or removed?); put them back "
                            "there, or train anew with --data")
        split = own_split(config.data, config.channels, config.image_size, config.strict, config.unlabeled,
                          config.pixel_range, progress)
        for note in split.notes:
            print(f"sgan: note: {note}", file=sys.stderr)
        return split
    return make_split(dataset=config.dataset, data_dir=config.data_dir, labels=config.labels,
                      label_selection=config.label_selection, unlabeled=config.unlabeled,
                      pixel_range=config.pixel_range, num_classes=config.num_classes, seed=config.subset_seed)


def default_run_dir(config: Config) -> Path:
    if config.data is not None:  # own images: named for their folder or file
        return Path("runs") / f"{Path(config.data).stem}-{config.preset}-{config.method}-s{config.seed}"
    return Path("runs") / f"{config.preset}-{config.method}-{config.labels}-s{config.seed}"


class Trainer:
    """Owns one run's data, networks, algorithm and samplers; `fit()` runs it to the end."""

    def __init__(self, config: Config, split: SemiSupervisedSplit | None = None, progress: bool = True) -> None:
        config.validate()
        self.config = config
        self.progress = progress
        self.device = resolve_device(config.device)
        cores = os.cpu_count() or 1
        if config.threads is not None and config.threads > cores:  # oversubscribed threads slow a step manyfold
            raise ValueError(f"threads must be between 1 and this machine's {cores} cores, got {config.threads} "
                             "(leave it out to use all cores)")
        if config.threads:
            torch.set_num_threads(config.threads)
        self.tuner = None  # threads left to sgan on a CPU: chosen by measured speed (sgan.runtime)
        if self.device.type == "cpu":
            retain_freed_memory()  # process-wide; see sgan.runtime
        torch.manual_seed(config.seed)
        split = split or run_split(config, progress)
        self.split = split
        self.image_shape = split.image_shape
        for name in ("labeled_shift", "consistency_shift"):
            if getattr(config, name) >= min(self.image_shape[1:]):
                raise ValueError(f"{name}={getattr(config, name)} moves a {self.image_shape[1]}x"
                                 f"{self.image_shape[2]} image off itself; give fewer pixels")
        self.run_dir = Path(config.out) if config.out else default_run_dir(config)
        self.total_steps = config.run_steps
        # The data live on the device (on the CPU, `to` returns the same tensors).
        self.labeled_images, self.labeled_targets, self.unlabeled_images, self.test_images, self.test_targets = (
            t.to(self.device) for t in (split.labeled_images, split.labeled_targets, split.unlabeled_images,
                                        split.test_images, split.test_targets))

        # Networks are built on the CPU from the seed, so that every device starts from the same weights
        # (a data-dependent initialisation then runs on the device).
        algorithm = algorithm_class(config.run_algorithm)
        self.num_classes = split.num_classes  # the data's, for own images; config.num_classes otherwise
        self.discriminator: nn.Module = build_discriminator(config.model, self.image_shape, self.num_classes)
        self.generator: nn.Module | None = (build_generator(config.model, self.image_shape, config.z_dim)
                                            if algorithm.uses_generator else None)
        # NHWC where it pays: oneDNN's CPU convolutions (benchmarks/results/ablation.md).
        self.channels_last = self.device.type == "cpu" if config.channels_last is None else config.channels_last
        for net in (self.discriminator, self.generator):
            if net is not None:
                net.to(self.device)
                if self.channels_last:
                    net.to(memory_format=torch.channels_last)
        self.data_rng = torch.Generator().manual_seed(config.seed + 1)
        # the labeled batch's shifts draw from their own stream: with or without them, a run sees
        # the same batches in the same order
        self.augment_rng = torch.Generator().manual_seed(config.seed + 3)
        self._initialize_networks()
        self.ema = None
        if config.ema_decay is not None:
            self.ema = AveragedModel(self.discriminator, multi_avg_fn=ema_with_warmup(config.ema_decay),
                                     use_buffers=True)
        if config.compile:  # in place, after the EMA's copy: state_dict keys stay portable
            for net in (self.discriminator, self.generator):
                if net is not None:
                    net.compile()
        self.algorithm = algorithm(config, self.discriminator, self.generator, noise=self.noise,
                                   generator_precision=lambda: self.precision("generator"))
        # the weight average, for algorithms that learn from it (a mean teacher); None without one
        self.algorithm.teacher = None if self.ema is None else self.ema.module
        self.algorithm.augment_rng = self.augment_rng  # for an algorithm's own augmentation
        pools = {"labeled": len(self.labeled_images), "unlabeled": len(self.unlabeled_images),
                 "matching": len(self.unlabeled_images)}
        if "unlabeled" in algorithm.batches and not pools["unlabeled"]:
            raise ValueError(f"{len(self.labeled_images)} labeled examples leave no unlabeled images for the "
                             f"{config.run_algorithm} algorithm (unlabeled={config.unlabeled!r}); label fewer")
        sizes = algorithm.batch_sizes(config)
        self.samplers = {name: BatchSampler(pools[name], *sizes[name], self.data_rng) for name in algorithm.batches}
        self.sample_z = self.noise(100, torch.Generator().manual_seed(config.seed + 2))

        self.step_count = 0
        self.other_rng: dict[str, Any] = {}  # random states of devices this run used before, kept for them
        self.saved_step: int | None = None  # the step of the checkpoint on disk, if any
        self.history: list[dict[str, float]] = []
        self.monitor = Monitor()
        self.tensorboard = None
        if config.tensorboard:
            from sgan.tensorboard import TensorBoardLog

            try:
                self.tensorboard = TensorBoardLog(self.run_dir / "tensorboard", config.pixel_range)
            except ImportError as e:
                raise TrainingError(str(e)) from None
        self.wall_seconds = 0.0
        self._interval: dict[str, list[float]] = {}
        self._stop_signal: int | None = None

    # ------------------------------------------------------------------ one step
    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """z for the generator, on the device; from `generator` (a seeded CPU one) where given."""
        device = "cpu" if generator is not None else self.device
        if self.config.z_dist == "normal":
            z = torch.randn(n, self.config.z_dim, generator=generator, device=device)
        elif self.config.z_dist == "uniform":
            z = torch.rand(n, self.config.z_dim, generator=generator, device=device)
        else:
            raise ValueError(f"unknown z_dist {self.config.z_dist!r}; choose normal or uniform")
        return z.to(self.device)

    def precision(self, network: str = "discriminator") -> contextlib.AbstractContextManager:
        """bf16 autocast for `network` where the precision asks for it.

        "bf16-generator" leaves the classifier in float32: the generator holds most of a conv
        preset's arithmetic, and the classifier is what the accuracy is measured on.
        """
        p = self.config.precision
        return autocast(self.device, p == "bf16" or (p == "bf16-generator" and network == "generator"))

    def next_batch(self) -> Batch:
        """The next batches the algorithm declared, drawn in that order, on the device."""
        idx = self.samplers["labeled"].next().to(self.device)
        x_lab = random_shift(self.labeled_images[idx], self.config.labeled_shift, self.augment_rng)
        batch = Batch(x_lab, self.labeled_targets[idx])
        if "unlabeled" in self.samplers:
            batch.x_unl = self.unlabeled_images[self.samplers["unlabeled"].next().to(self.device)]
        if "matching" in self.samplers:
            batch.x_match = self.unlabeled_images[self.samplers["matching"].next().to(self.device)]
        return batch

    def step(self, batch: Batch | None = None) -> dict[str, float]:
        """One training iteration of the algorithm (on `batch`, else the next one); its losses."""
        batch = batch if batch is not None else self.next_batch()
        start = self.config.lr_decay_start
        if start is not None:  # linearly to 0 at the schedule's end, as improved-gan's first version
            lr = self.config.lr * min(1.0, (self.total_steps - self.step_count) / max(self.total_steps - start, 1))
            for optimizer in self.algorithm.optimizers().values():
                for group in optimizer.param_groups:
                    group["lr"] = lr
        with self.precision("discriminator"):
            stats = self.algorithm.step(batch)
        if self.ema is not None:
            self.ema.update_parameters(self.discriminator)
        return stats

    def _initialize_networks(self) -> None:
        """Data-dependent initialisation for networks that have it (weight normalisation)."""
        if hasattr(self.discriminator, "initialize"):
            pool = self.unlabeled_images if self.generator is not None else self.labeled_images
            idx = torch.randperm(len(pool), generator=self.data_rng)[:500]
            with torch.no_grad():
                self.discriminator.initialize(pool[idx.to(self.device)])
        if self.generator is not None and hasattr(self.generator, "initialize"):
            with torch.no_grad():
                self.generator.initialize(self.noise(500, self.data_rng))

    # ------------------------------------------------------------------ the loop
    @property
    def classifier(self) -> nn.Module:
        """The network evaluated: the EMA of the discriminator's weights where configured."""
        return self.ema.module if self.ema is not None else self.discriminator

    def fit(self, new: bool = False) -> dict[str, Any]:
        """Train to the end and write the report; `new`: refuse a folder that already holds a run."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            with run_lock(self.run_dir):
                if new and (self.run_dir / "checkpoint.pt").exists():
                    raise TrainingError(f"{self.run_dir} already holds a run; continue it with "
                                        f"`sgan train --resume {self.run_dir}` or choose another --out")
                return self._fit()
        except RunInUse as e:
            raise TrainingError(str(e)) from None
        finally:
            if self.tensorboard is not None:
                self.tensorboard.close()

    def _fit(self) -> dict[str, Any]:
        from sgan import report  # matplotlib is imported only when a run writes its pictures

        report.write_json(self.run_dir / "config.json", self.config.to_dict())
        interval = self.config.sample_interval
        bar = tqdm(total=self.total_steps, initial=self.step_count, disable=not self.progress,
                   desc=f"{self.config.preset} {self.config.method}", unit="step", dynamic_ncols=True)
        start = time.perf_counter() - self.wall_seconds
        if (self.device.type == "cpu" and self.config.threads is None and (os.cpu_count() or 1) > 1
                and self.total_steps - self.step_count >= ThreadTuner.MIN_STEPS):
            self.tuner = ThreadTuner(os.cpu_count() or 1)
        with self._signals_caught(), bar:
            while self.step_count < self.total_steps:
                began = time.perf_counter()
                stats = self.step()
                if self.tuner is not None:
                    self.tuner.observe(time.perf_counter() - began)
                bad = [k for k, v in stats.items() if not math.isfinite(v)]
                if bad:
                    kept = (f"the last good checkpoint is {self.run_dir / 'checkpoint.pt'} (step {self.saved_step})"
                            if self.saved_step is not None else "no checkpoint had been written yet")
                    raise TrainingError(f"non-finite {', '.join(bad)} loss at step {self.step_count + 1}; stopped, "
                                        f"{kept}")
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
                    if self.step_count < self.total_steps:  # a signal in the last step: the run is complete
                        self.finish(stopped=f"signal {signal.Signals(self._stop_signal).name}")
                    raise TrainingInterrupted(
                        f"stopped by signal {signal.Signals(self._stop_signal).name} at step {self.step_count}; "
                        f"resume with: sgan train --resume {self.run_dir}"
                    )
        self.wall_seconds = time.perf_counter() - start
        return self.finish()

    def _record(self, bar: tqdm) -> None:
        """Evaluate on the test set, write history, samples and a checkpoint."""
        from sgan import report

        test = evaluate(self.classifier, self.test_images, self.test_targets, self.num_classes)
        row = {"step": self.step_count, "wall_seconds": round(self.wall_seconds, 3)}
        for k, v in self._interval.items():
            row["labeled_batch_acc" if k == "acc" else f"{k}_loss"] = float(np.mean(v))
        row["test_accuracy"] = test["accuracy"]
        self.history.append(row)
        self._interval = {}
        fake = self.generated(self.sample_z) if self.generator is not None else None
        for warning in self.monitor.check(row, fake, self.unlabeled_images[:100]):
            bar.write(f"warning: {warning}")
        # also with --no-progress: one line an interval is the run's log
        accuracy = "no test set" if test["accuracy"] is None else f"{100 * test['accuracy']:.2f}%"
        bar.write(f"step {self.step_count}: test accuracy {accuracy}  "
                  + "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k.endswith("loss")))
        write_history(self.run_dir / "history.csv", self.history)
        if fake is not None:
            report.save_grid(fake, self.run_dir / "samples.png", self.config.pixel_range)
        if self.tensorboard is not None:
            self.tensorboard.log(row, fake)
        self.save()

    @torch.inference_mode()
    def generated(self, z: torch.Tensor) -> torch.Tensor:
        was_training = self.generator.training
        self.generator.eval()
        try:
            with self.precision("generator"):
                return self.generator(z).float()
        finally:
            self.generator.train(was_training)

    def finish(self, stopped: str | None = None) -> dict[str, Any]:
        """Final evaluation and the run directory's report; `stopped` says why a run ends early."""
        from sgan import report

        s, cfg = self.split, self.config
        test = evaluate(self.classifier, self.test_images, self.test_targets, self.num_classes)
        train = evaluate(self.classifier, self.labeled_images, self.labeled_targets, self.num_classes)
        result = {
            "preset": cfg.preset,
            "method": cfg.method,
            "model": cfg.model,
            "algorithm": cfg.run_algorithm,
            "dataset": cfg.dataset if cfg.data is None else "own images",
            "data": cfg.data,
            "data_notes": list(s.notes),
            "image_shape": list(self.image_shape),
            "classes": list(s.classes),
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
            "device": str(self.device),
            "labeled_indices_sha256": s.labeled_sha256,
            "labeled_class_counts": np.bincount(s.labeled_targets.numpy(), minlength=self.num_classes).tolist(),
            "unlabeled_pool": len(s.unlabeled_images),
            "wall_seconds": round(self.wall_seconds, 2),
            "seconds_per_step": round(self.wall_seconds / max(self.step_count, 1), 5),
            "torch_version": torch.__version__,
            "machine": machine_info(self.device),
            "data_source": str(s.source),
            "run_dir": str(self.run_dir),
            "warnings": list(self.monitor.warnings),
            "stopped": stopped,
            "planned_steps": self.total_steps,
        }
        report.write_run_report(self.run_dir, result, self.history)
        return result

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict[str, Any]:
        empty = {"order": torch.empty(0, dtype=torch.long), "pos": 0}
        state = {
            "config": self.config.to_dict(),
            "step": self.step_count,
            "wall_seconds": self.wall_seconds,
            "history": self.history,
            "device": str(self.device),
            "image_shape": list(self.image_shape),
            "classes": list(self.split.classes),
            "discriminator": self.discriminator.state_dict(),
            **{name: opt.state_dict() for name, opt in self.algorithm.optimizers().items()},
            "rng": {**self.other_rng, **rng_state(self.device)},
            "data_rng": self.data_rng.get_state(),
            "augment_rng": self.augment_rng.get_state(),
            "samplers": [self.samplers[n].state_dict() if n in self.samplers else empty for n in SAMPLERS],
            "labeled_indices_sha256": self.split.labeled_sha256,
            # the losses of the steps since the last evaluation, so that a resumed interval's
            # averages are the uninterrupted run's
            "interval": self._interval,
            "warnings": list(self.monitor.warnings),
        }
        if self.generator is not None:
            state["generator"] = self.generator.state_dict()
        if self.ema is not None:
            state["ema"] = self.ema.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any], path: Path) -> None:
        saved_shape = tuple(state.get("image_shape", (1, 28, 28)))
        if saved_shape != tuple(self.image_shape):
            raise CheckpointError(f"{path}: checkpoint's networks take images of shape {saved_shape}, "
                                  f"the data are {tuple(self.image_shape)}")
        load_state(self.discriminator, state["discriminator"], "discriminator", path)
        if self.generator is not None:
            load_state(self.generator, state["generator"], "generator", path)
        if state.get("labeled_indices_sha256") != self.split.labeled_sha256:
            raise CheckpointError(f"{path}: checkpoint was trained on a different labeled subset")
        if self.ema is not None:
            load_state(self.ema, state["ema"], "EMA", path)
        for name, opt in self.algorithm.optimizers().items():
            opt.load_state_dict(state[name])
            match_layouts(opt)
        self.other_rng = set_rng_state(state["rng"], self.device)
        self.data_rng.set_state(state["data_rng"])
        if "augment_rng" in state:  # checkpoints before labeled_shift have none (and drew no shifts)
            self.augment_rng.set_state(state["augment_rng"])
        for name, saved in zip(SAMPLERS, state["samplers"], strict=True):
            if name in self.samplers:
                self.samplers[name].load_state_dict(saved)
        self.step_count = int(state["step"])
        self.saved_step = self.step_count
        self.wall_seconds = float(state["wall_seconds"])
        self.history = list(state["history"])
        self._interval = {k: list(v) for k, v in state.get("interval", {}).items()}
        self.monitor = Monitor(state.get("warnings"))

    def save(self) -> None:
        save_checkpoint(self.state_dict(), self.run_dir / "checkpoint.pt")
        self.saved_step = self.step_count

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


def train(config: Config, progress: bool = True, split: SemiSupervisedSplit | None = None) -> dict[str, Any]:
    """Train one run (SGAN or the supervised baseline) and return its report.

    A run directory that already holds a checkpoint is never overwritten: `resume` continues it.
    """
    return Trainer(config, split=split, progress=progress).fit(new=True)


# What may differ between two configs of one run: where and how it runs (the same arithmetic in
# another layout or schedule of evaluations), and its length (--steps extends a run). Anything
# else means that they are not of the same run.
RUN_PLACE = ("out", "threads", "data_dir", "device", "channels_last", "compile", "sample_interval", "steps",
             "baseline_steps", "baseline_epochs")


def differences_from_folder(config: Config, run_dir: Path) -> dict[str, tuple[Any, Any]]:
    """The options in which `config` differs from the run in `run_dir` ({name: (folder's, config's)});
    none where the folder holds no config.json yet."""
    saved = Path(run_dir) / "config.json"
    if not saved.is_file():
        return {}
    try:
        written = config_from_dict(json.loads(saved.read_text())).to_dict()
    except (OSError, ValueError, TypeError) as e:
        raise TrainingError(f"{saved}: not a usable config ({e}); restore it or start a new run") from None
    ours = config.to_dict()
    return {k: (written[k], ours[k]) for k in ours if k not in RUN_PLACE and ours[k] != written[k]}


def check_belongs(config: Config, run_dir: Path) -> None:
    """Refuse a checkpoint that is not its folder's run, or a config.json edited since."""
    differ = sorted(differences_from_folder(config, run_dir))
    if differ:
        raise TrainingError(f"{run_dir}: its config.json and checkpoint.pt differ in {', '.join(differ)} (a checkpoint "
                            "from another run, or an edited config.json); refusing to resume")


def resume(run: str | Path, steps: int | None = None, threads: int | None = None, data_dir: str | None = None,
           progress: bool = True, device: str | None = None) -> dict[str, Any]:
    """Continue an interrupted run from its checkpoint, with the configuration saved there.

    `steps` extends (or sets) the run's length; `threads`, `data_dir` and `device` say how, from
    where and on what this machine runs it, which may differ from the machine that started it.
    The run directory is the checkpoint's folder.
    """
    path = Path(run)
    if path.is_dir() and not (path / "checkpoint.pt").exists() and (path / "config.json").exists():
        raise TrainingError(f"{path} stopped before its first checkpoint, so there is nothing to resume; start it "
                            f"again with: sgan train --config {path / 'config.json'} --out {path}")
    state = load_checkpoint(path)
    config = checkpoint_config(state, path)
    run_dir = path if path.is_dir() else path.parent
    check_belongs(config, run_dir)
    config = on_this_machine(config.replace(out=str(run_dir)), threads, data_dir, device)
    if steps is not None:
        config = config.with_steps(steps)
    trainer = Trainer(config, progress=progress)
    trainer.load_state_dict(state, path)
    if trainer.step_count >= trainer.total_steps and (run_dir / "report.json").is_file():
        raise TrainingError(f"{run_dir}: run already complete at step {trainer.step_count}; pass --steps to extend it")
    return trainer.fit()
