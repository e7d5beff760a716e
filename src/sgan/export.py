"""A trained classifier as one file that runs without sgan: TorchScript or ONNX, the engine of `sgan export`.

The exported module holds the classifier (the EMA weights where the run kept them) in eval mode,
so dropout and the `improved` discriminator's Gaussian noise are off, together with the input
scaling its run trained with. Its contract:

    input   "images": uint8 [N, H, W, C], values 0-255, N any batch size; C=1 for greyscale
            (the layout numpy.asarray(PIL.Image) gives, with a trailing channel axis added for
            greyscale), C=3 for RGB; H, W and C are the checkpoint's image_shape
    output  "logits": float32 [N, K], one column per class, in the order of `classes`; a
            softmax over them gives the probabilities `sgan predict` prints

Inside, the module converts to float32, scales per the run's pixel_range ("tanh": x / 127.5 - 1,
"unit": x / 255) and permutes to NCHW, exactly as training's `scale_pixels`. Images must
already have the checkpoint's size and channels: `sgan.data.images.read_image` is how training
converted and resized image files (greyscale "L" or "RGB" via Pillow, bilinear resize).

Both formats carry the same metadata as JSON under the name "sgan.json": classes, image_shape,
pixel_range, input, output, model, step, weights, sgan_version. TorchScript keeps it as an
extra file (torch.jit.load(path, _extra_files={"sgan.json": ""})), ONNX in the model's
metadata_props (onnxruntime: session.get_modelmeta().custom_metadata_map["sgan.json"]).
ONNX export needs the optional extra: pip install 'sgan[onnx]'.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sgan.files import write_bytes
from sgan.predict import LoadedClassifier, load_classifier
from sgan.version import __version__

__all__ = ["FORMATS", "METADATA_KEY", "ExportError", "ScaledClassifier", "export_classifier", "metadata"]

FORMATS = ("torchscript", "onnx")
METADATA_KEY = "sgan.json"
ONNX_OPSET = 18


class ExportError(ValueError):
    """An export that cannot be made here (a missing optional package); a ValueError, so the
    command line reports it in one line."""


class ScaledClassifier(nn.Module):
    """The classifier with its input scaling: uint8 images [N, H, W, C] to logits [N, K] float32."""

    def __init__(self, classifier: nn.Module, pixel_range: str) -> None:
        super().__init__()
        if pixel_range not in ("tanh", "unit"):
            raise ValueError(f"unknown pixel range {pixel_range!r}; use 'tanh' or 'unit'")
        self.classifier = classifier
        self.pixel_range = pixel_range

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.to(torch.float32).permute(0, 3, 1, 2).contiguous()  # as sgan.data.split.scale_pixels
        x = x / 127.5 - 1.0 if self.pixel_range == "tanh" else x / 255.0
        return self.classifier(x).float()


def metadata(model: LoadedClassifier) -> dict[str, Any]:
    """What a user of the exported file needs to know about its input and output."""
    c, h, w = model.image_shape
    return {
        "classes": model.classes,
        "image_shape": [c, h, w],
        "pixel_range": model.pixel_range,
        "input": "uint8 NHWC",
        "input_shape": ["N", h, w, c],
        "output": "logits float32 [N, K]",
        "model": model.model,
        "step": model.step,
        "weights": model.weights,
        "sgan_version": __version__,
    }


def export_classifier(checkpoint: str | Path | LoadedClassifier, out: str | Path, format: str = "torchscript") -> Path:
    """Write the checkpoint's classifier with its input scaling to `out`, atomically, as TorchScript
    (torch.jit.load) or ONNX (onnxruntime). `checkpoint` is a run directory, a checkpoint file or
    a `sgan.predict.load_classifier` result. Returns `out`."""
    if format not in FORMATS:
        raise ValueError(f"unknown export format {format!r}; use {' or '.join(FORMATS)}")
    if format == "onnx":
        require_onnx()
    model = checkpoint if isinstance(checkpoint, LoadedClassifier) else load_classifier(checkpoint)
    module = ScaledClassifier(model.classifier, model.pixel_range).eval()  # no dropout, no noise
    c, h, w = model.image_shape
    # Two distinct images, so the traced batch size is not a special case (1) anywhere.
    example = torch.randint(0, 256, (2, h, w, c), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    info = json.dumps(metadata(model))
    with torch.no_grad():
        data = to_torchscript(module, example, info) if format == "torchscript" else to_onnx(module, example, info)
    return write_bytes(out, data)


def to_torchscript(module: nn.Module, example: torch.Tensor, info: str) -> bytes:
    with warnings.catch_warnings():
        # torch 2.10+ deprecates TorchScript in favour of torch.export, but still loads and runs it everywhere
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(module, example)
        buffer = io.BytesIO()
        torch.jit.save(traced, buffer, _extra_files={METADATA_KEY: info})
    return buffer.getvalue()


def require_onnx() -> None:
    """ExportError (one line) unless the packages ONNX export needs are installed."""
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401  torch.onnx.export's exporter (dynamo=True) is written in it
    except ImportError as e:
        missing = getattr(e, "name", None) or "onnx"
        raise ExportError(f"--format onnx needs the {missing} package: pip install 'sgan[onnx]'") from None


@contextlib.contextmanager
def quiet_exporter() -> Iterator[None]:
    """Silence the ONNX exporter's chatter (torchvision ops it skips, its own deprecations) during an export;
    its errors still raise."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        logger.setLevel(level)


def to_onnx(module: nn.Module, example: torch.Tensor, info: str) -> bytes:
    import onnx

    batch = torch.export.Dim("batch", min=1)
    with quiet_exporter():
        program = torch.onnx.export(module, (example,), dynamo=True, input_names=["images"],
                                    output_names=["logits"], dynamic_shapes=({0: batch},),
                                    opset_version=ONNX_OPSET, verbose=False)
    proto = program.model_proto
    entry = proto.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, info
    onnx.checker.check_model(proto)
    return proto.SerializeToString()
