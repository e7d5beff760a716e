"""sgan: semi-supervised image classification with generative adversarial networks."""

from sgan.config import PRESETS, Config, get_config
from sgan.engine import Trainer, resume, train
from sgan.evaluation import evaluate
from sgan.version import __version__

__all__ = ["PRESETS", "Config", "Trainer", "__version__", "evaluate", "get_config", "resume", "train"]
