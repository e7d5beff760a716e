"""sgan: semi-supervised image classification with generative adversarial networks."""

from sgan.config import PRESETS, Config, get_config
from sgan.trainer import Trainer, evaluate, resume, train

__all__ = ["PRESETS", "Config", "Trainer", "evaluate", "get_config", "resume", "train"]
__version__ = "0.1.0"
