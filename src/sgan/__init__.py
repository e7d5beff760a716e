"""sgan: semi-supervised image classification with generative adversarial networks.

The names below load on first use (PEP 562), so that importing `sgan.cli` does not pull in torch
before the command line can catch Ctrl-C.
"""

from __future__ import annotations

import importlib
from typing import Any

from sgan.version import __version__

_EXPORTS = {
    "PRESETS": "sgan.config", "Config": "sgan.config", "get_config": "sgan.config",
    "Trainer": "sgan.engine", "resume": "sgan.engine", "train": "sgan.engine", "evaluate": "sgan.evaluation",
}

__all__ = ["PRESETS", "Config", "Trainer", "__version__", "evaluate", "get_config", "resume", "train"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sgan' has no attribute {name!r}")
