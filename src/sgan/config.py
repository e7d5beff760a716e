"""Configuration as plain data: one dataclass, presets are dictionaries of overrides.

Every preset runs through the same training loop (`sgan.train`); they differ only in the
values below. A run's `config.json` is `asdict(config)` and is enough to rerun it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class Config:
    # --- what to run -------------------------------------------------------------------
    preset: str = "gia"
    method: str = "sgan"  # "sgan" or "supervised" (the baseline: same classifier, labels only)
    model: str = "gia"  # architecture family in sgan.models: "gia", "stacked", "improved"

    # --- data ------------------------------------------------------------------------
    dataset: str = "mnist"  # "mnist" or "fashion-mnist"
    data_dir: str | None = None  # None: SGAN_DATA_DIR, the user cache, /usr/share/datasets
    labels: int = 100  # labeled examples the trainer may see, in total
    label_selection: str = "first"  # "first" N training images, or "balanced" N/K per class
    unlabeled: str = "all"  # "all" training images, or "rest" (those not in the labeled set)
    pixel_range: str = "tanh"  # "tanh": [-1, 1] as both tutorials; "unit": [0, 1]

    # --- schedule ----------------------------------------------------------------------
    steps: int = 8000
    labeled_batch_size: int = 32
    unlabeled_batch_size: int = 32
    fake_batch_size: int = 32  # generated images in the discriminator's update
    gen_batch_size: int = 32  # generated images in the generator's update
    labeled_sampling: str = "random"  # "random" with replacement, or "epoch" (cycled, shuffled)
    sample_interval: int = 800  # steps between test evaluations, sample grids, checkpoints

    # --- optimisation ------------------------------------------------------------------
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    adam_eps: float = 1e-7  # Keras' default epsilon (PyTorch's is 1e-8)
    # "separate": the tutorials' three discriminator updates per step (supervised, real, fake),
    # each a Keras train_on_batch; "joint": one update on the summed loss (Salimans et al.).
    d_update: str = "separate"
    shared_d_optimizer: bool = False  # one Adam state for the supervised and unsupervised model
    g_loss: str = "bce"  # "bce": fool the real/fake head; "feature_matching" (Salimans et al.)
    unlabeled_weight: float = 1.0
    # The generator mode when it makes the discriminator's fakes. Keras' `generator.predict`
    # runs BatchNorm in inference mode ("eval"); "train" lets one forward pass serve both updates.
    fake_mode: str = "train"
    # Keras 2 ran the frozen discriminator's BatchNorm on batch statistics during the generator
    # update; Keras 3 runs it in inference mode, which costs the book's result ~20 points.
    frozen_d_batch_stats: bool = True
    ema_decay: float | None = None  # evaluate with an EMA of the discriminator's weights
    z_dim: int = 100
    z_dist: str = "normal"  # "normal" or "uniform" ([0, 1), as improved-gan)

    # --- supervised baseline -----------------------------------------------------------
    # Shuffled passes over the labeled set, exactly as Keras' fit() (last batch of a pass partial).
    baseline_steps: int = 120
    # When set, the baseline's length in passes over the labeled set (Keras' fit epochs) instead,
    # so that a label-count sweep trains every baseline by the same recipe; explicit steps clear it.
    baseline_epochs: int | None = None
    baseline_batch_size: int = 32

    # --- run ---------------------------------------------------------------------------
    seed: int = 0
    # The labeled subset's own seed (None: `seed`). The reference improved-gan scripts keep the
    # two apart (--seed_data, --seed): fixing this and varying `seed` separates the luck of the
    # labeled draw from that of initialisation and sampling.
    label_seed: int | None = None
    out: str | None = None  # run directory; None: runs/<preset>-<method>-<labels>-s<seed>
    precision: str = "fp32"  # "fp32", "bf16" (autocast on CPU) or "bf16-generator" (the generator only)
    compile: bool = False  # torch.compile the networks
    # NHWC weights for oneDNN's convolutions: measured on a 2-core AVX-512 CPU (ablation.md),
    # 1.40x faster a step for stacked, 1.07x (float32) and 1.22x (bf16) for gia; the presets turn it on.
    channels_last: bool = False
    threads: int | None = None  # torch intra-op threads; None: all cores
    num_classes: int = 10

    def with_steps(self, steps: int) -> Config:
        """The run's length set to `steps`: the baseline's when this is a baseline run."""
        if self.method == "supervised":
            return self.replace(baseline_steps=steps, baseline_epochs=None)
        return self.replace(steps=steps)

    @property
    def baseline_length(self) -> int:
        """The supervised baseline's steps: `baseline_epochs` passes of ceil(labels / batch), or `baseline_steps`."""
        if self.baseline_epochs is None:
            return self.baseline_steps
        return self.baseline_epochs * math.ceil(self.labels / self.baseline_batch_size)

    @property
    def subset_seed(self) -> int:
        """The seed the labeled subset is drawn with: `label_seed` where given, else `seed`."""
        return self.seed if self.label_seed is None else self.label_seed

    @property
    def run_steps(self) -> int:
        """The length of the run this config describes: the baseline's or the SGAN's."""
        return self.baseline_length if self.method == "supervised" else self.steps

    def validate(self) -> Config:
        """Refuse values no code path understands, before any work starts."""
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(map(str, allowed))}; got {getattr(self, name)!r}")
        for name in ("steps", "labeled_batch_size", "unlabeled_batch_size", "fake_batch_size", "gen_batch_size",
                     "sample_interval", "baseline_steps", "baseline_batch_size", "labels", "z_dim"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.baseline_epochs is not None and self.baseline_epochs <= 0:
            raise ValueError(f"baseline_epochs must be positive, got {self.baseline_epochs}")
        if self.fake_mode == "train" and self.fake_batch_size > self.gen_batch_size:
            raise ValueError("fake_mode='train' reuses the generator batch: fake_batch_size must be <= gen_batch_size")
        return self

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


CHOICES: dict[str, tuple[Any, ...]] = {
    "method": ("sgan", "supervised"),
    "model": ("gia", "stacked", "improved"),
    "dataset": ("mnist", "fashion-mnist"),
    "label_selection": ("first", "balanced"),
    "unlabeled": ("all", "rest"),
    "pixel_range": ("tanh", "unit"),
    "labeled_sampling": ("random", "epoch"),
    "d_update": ("separate", "joint"),
    "g_loss": ("bce", "feature_matching"),
    "fake_mode": ("train", "eval"),
    "z_dist": ("normal", "uniform"),
    "precision": ("fp32", "bf16", "bf16-generator"),
}


# GANs in Action, ch. 7 (Langr & Bok). Values from the chapter's text; where it is silent,
# from the book's notebook: unlabeled images are training images 100..59999, the supervised
# baseline trains 30 epochs of batch 32 on the 100 labels (4 batches an epoch: 120 steps).
GIA: dict[str, Any] = dict(
    model="gia",
    label_selection="first",
    unlabeled="rest",
    steps=8000,
    labeled_batch_size=32,
    unlabeled_batch_size=32,
    fake_batch_size=32,
    gen_batch_size=32,
    sample_interval=800,
    lr=1e-3,
    beta1=0.9,
    d_update="separate",
    shared_d_optimizer=False,  # two compiled Keras models, two Adam() instances
    fake_mode="eval",  # generator.predict(z) in the book's loop
    frozen_d_batch_stats=True,  # Keras 2, as the book ran
    baseline_epochs=30,  # the notebook's fit(epochs=30, batch_size=32): 120 steps with 100 labels
    baseline_batch_size=32,
    # The generator in bf16, the classifier in float32 as Keras ran it: 1.39x faster a step than
    # float32 (speed.md), and over 5 seeds of the full schedule 89.15 +/- 0.79% against float32's
    # 88.87 +/- 0.77% (benchmarks/results/reproduction.md). Full bf16 is 1.56x faster but scored
    # 87.90 +/- 0.80%, about a point lower, so it is an option only. NHWC convolutions compute
    # the same sums in another memory order and are ~1.1x faster here (ablation.md).
    precision="bf16-generator",
    channels_last=True,
)

# The stacked-discriminator tutorial (Gazali 2021, after Brownlee). Batch 100 split into half
# batches of 50; 600 batches an epoch x 20 epochs = 12000 steps. One Adam instance is passed to
# both discriminator models' compile(); in tf.keras slots are per variable, so they share state.
STACKED: dict[str, Any] = dict(
    model="stacked",
    label_selection="balanced",
    unlabeled="all",
    steps=12000,
    labeled_batch_size=50,
    unlabeled_batch_size=50,
    fake_batch_size=50,
    gen_batch_size=100,
    sample_interval=600,
    lr=2e-4,
    beta1=0.5,
    d_update="separate",
    shared_d_optimizer=True,
    channels_last=True,
    fake_mode="train",  # no BatchNorm in this generator: both modes are the same function
    frozen_d_batch_stats=True,  # no BatchNorm in this discriminator either
    baseline_steps=12000,  # the tutorial has no baseline: match its 12000 supervised updates
    baseline_batch_size=50,
)

# Salimans et al. 2016, openai/improved-gan `train_mnist_feature_matching.py`: one joint
# discriminator update and one feature-matching generator update per batch of 100, labeled
# set cycled to the length of the unlabeled epoch (600 batches), pixels in [0, 1].
IMPROVED: dict[str, Any] = dict(
    model="improved",
    label_selection="balanced",
    unlabeled="all",
    pixel_range="unit",
    steps=600 * 300,  # 300 epochs, as the reference code
    labeled_batch_size=100,
    unlabeled_batch_size=100,
    fake_batch_size=100,
    gen_batch_size=100,
    labeled_sampling="epoch",
    sample_interval=600,  # once an epoch
    lr=3e-3,
    beta1=0.5,
    # improved-gan's Adam divides by sqrt(v_hat + 1e-8): an epsilon of about 1e-4 outside the root.
    adam_eps=1e-4,
    d_update="joint",
    g_loss="feature_matching",
    fake_mode="train",
    # The reference's EMA decay is 0.9999 from a zero start (no bias correction); ours starts
    # from the initial weights with a warm-up (trainer.ema_with_warmup), which only changes the
    # first epochs' figures.
    ema_decay=0.9999,
    z_dist="uniform",
    baseline_steps=600 * 20,
    baseline_batch_size=100,
)

PRESETS: dict[str, dict[str, Any]] = {"gia": GIA, "stacked": STACKED, "improved": IMPROVED}


def get_config(preset: str = "gia", **overrides: Any) -> Config:
    """The preset's configuration with `overrides` applied (None values are ignored)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    known = {f.name for f in dataclasses.fields(Config)}
    bad = sorted(set(overrides) - known)
    if bad:
        raise ValueError(f"unknown config option(s): {', '.join(bad)}")
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if "baseline_steps" in overrides and "baseline_epochs" not in overrides:
        overrides["baseline_epochs"] = None  # an explicit step count replaces the preset's epochs
    values = {**PRESETS[preset], **overrides}
    values["precision"] = run_precision(values.get("method", "sgan"), values.get("precision", "fp32"))
    return Config(preset=preset, **values)


def run_precision(method: str, precision: str) -> str:
    """The precision a run computes in: a baseline has no generator, so bf16-generator is float32."""
    return "fp32" if method == "supervised" and precision == "bf16-generator" else precision


def run_config(preset: str = "gia", method: str = "sgan", steps: int | None = None,
               batch_size: int | None = None, **overrides: Any) -> Config:
    """A run's configuration from the options a user gives on the command line or in a sweep.

    `steps` sets the length of whichever method runs; `batch_size` is the images per step, and
    presets that update on half batches (stacked: 100 -> 50) keep that ratio.
    """
    config = get_config(preset, method=method, **overrides)
    if steps is not None:
        config = config.with_steps(steps)
    if batch_size is not None:
        if batch_size <= 0:
            raise ValueError(f"batch size must be positive, got {batch_size}")
        part = max(1, round(batch_size * config.labeled_batch_size / config.gen_batch_size))
        config = config.replace(gen_batch_size=batch_size, labeled_batch_size=part, unlabeled_batch_size=part,
                                fake_batch_size=part, baseline_batch_size=part)
    return config


def config_from_dict(values: dict[str, Any]) -> Config:
    """Rebuild a Config from `config.json`, rejecting keys this version does not know."""
    known = {f.name for f in dataclasses.fields(Config)}
    bad = sorted(set(values) - known)
    if bad:
        raise ValueError(f"config has unknown option(s): {', '.join(bad)}")
    return Config(**values)
