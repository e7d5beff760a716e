"""Checkpoints that survive crashes and load safely.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts, so it loads with
`torch.load(weights_only=True)` (no pickled code runs). It is written to a temporary file and
renamed over the old one, so a run killed mid-write keeps its previous checkpoint intact.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from sgan.config import Config, config_from_dict
from sgan.files import torch_save
from sgan.version import __version__

FORMAT = "sgan-checkpoint-2"
# Formats this version reads. Format 1 (sgan 0.1) holds its config as 0.1 wrote it, read by
# config_from_dict, and the CPU's random state alone.
READABLE = {"sgan-checkpoint-1": "sgan 0.1", FORMAT: "sgan 0.2"}


class CheckpointError(Exception):
    """A checkpoint that is missing, unreadable, or does not fit the networks."""


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    torch_save({"format": FORMAT, "sgan_version": __version__, **state}, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # torch's message for both ends in advice to load with weights_only=False, which we never give
        if "Unsupported global" in str(e):
            raise CheckpointError(f"{path}: refused: it holds Python objects besides tensors and plain data, which "
                                  "could run code when loaded; an sgan checkpoint holds none") from None
        raise CheckpointError(f"{path}: not a readable checkpoint (corrupt, or not written by torch.save)") from None
    except Exception as e:  # torch raises several types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable checkpoint ({first_sentence(e)})") from None
    fmt = state.get("format") if isinstance(state, dict) else None
    if fmt not in READABLE:
        if isinstance(fmt, str) and fmt.startswith("sgan-checkpoint-"):
            who = state.get("sgan_version", "a newer sgan")
            raise CheckpointError(f"{path}: written by sgan {who} in {fmt}, which sgan {__version__} cannot read")
        raise CheckpointError(f"{path}: not an sgan checkpoint (expected format {FORMAT})")
    for key in ("config", "discriminator", "step"):
        if key not in state:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    return state


def first_sentence(error: BaseException) -> str:
    """An exception's first line, whole: the reason without the advice that follows it."""
    text = str(error).strip()
    return text.splitlines()[0].rstrip(".") if text else type(error).__name__


def load_state(module: torch.nn.Module, state: dict[str, Any], what: str, path: Path) -> None:
    """load_state_dict, with a one-line error when the checkpoint is for other networks."""
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        first = str(e).splitlines()[0]
        raise CheckpointError(f"{path}: {what} weights do not match the network ({first})") from None


def checkpoint_config(state: dict[str, Any], path: str | Path) -> Config:
    """The run configuration a checkpoint was saved with (sgan 0.1's included), or a one-line error."""
    try:
        return config_from_dict(state["config"])
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{path}: checkpoint config is not usable ({e})") from None
