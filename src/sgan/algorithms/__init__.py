"""Training algorithms, one file each, each with its own `step`. A new algorithm is one file and
one line in ALGORITHMS."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sgan.algorithms.base import Algorithm

# name -> "module:Class"; modules load on first use, so the command line can list the names.
ALGORITHMS: dict[str, str] = {
    "supervised": "sgan.algorithms.supervised:Supervised",
    "keras-sgan": "sgan.algorithms.keras_sgan:KerasSGAN",
    "feature-matching": "sgan.algorithms.feature_matching:FeatureMatching",
}


def algorithm_class(name: str) -> type[Algorithm]:
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose {', '.join(ALGORITHMS)}")
    module, cls = ALGORITHMS[name].split(":")
    return getattr(importlib.import_module(module), cls)
