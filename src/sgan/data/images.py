"""One image file to the array a network takes: decode, convert, resize.

Training, `sgan predict` and the exported classifier's documentation all go through `read_image`,
so that a prediction sees exactly the pixels the training did. Arrays are uint8 [H, W, C].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sgan.data.sources import DataError

MODES = {1: "L", 3: "RGB"}
COLOUR_MODES = {"RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA"}


def network_size(height: int, width: int) -> tuple[int, int]:
    """The nearest size at or above (height, width) that the convolutional networks take: both
    sides a multiple of 4 (two stride-2 stages), at least 8."""
    return max(8, -(-height // 4) * 4), max(8, -(-width // 4) * 4)


def probe(path: Path) -> tuple[tuple[int, int], str]:
    """((height, width), Pillow mode) from the file's header, without decoding its pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
            return (height, width), im.mode
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: not a readable image ({reason(e)})") from None


def is_colour(mode: str) -> bool:
    """Whether Pillow's mode carries colour (palette images are taken as colour)."""
    return mode in COLOUR_MODES


def read_image(path: str | Path, channels: int, size: tuple[int, int]) -> tuple[np.ndarray, bool]:
    """The image as uint8 [H, W, C] in `channels` (1: greyscale, 3: RGB) at `size` (H, W), and
    whether it had to be converted or resized to get there.

    Transparent images are composed over white first, as a viewer shows them.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            changed = False
            if im.mode in ("I;16", "I;16L", "I;16B", "I", "F"):  # 16-bit or float greyscale: to 0-255, not clipped
                im = Image.fromarray(to_eight_bits(np.asarray(im), im.mode.startswith("I;16")), mode="L")
                changed = True
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                im = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                im.alpha_composite(rgba)
                changed = True
            if im.mode != MODES[channels]:
                im = im.convert(MODES[channels])
                changed = True
            height, width = size
            if im.size != (width, height):
                im = im.resize((width, height), Image.BILINEAR)
                changed = True
            array = np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise DataError(f"{path}: not a readable image ({reason(e)})") from None
    return array.reshape(height, width, channels), changed


def to_eight_bits(a: np.ndarray, sixteen_bit: bool) -> np.ndarray:
    """Greyscale of more than 8 bits to uint8: 16-bit images by 65535, floats in [0, 1] by 1, 32-bit
    integers by 255 where they fit in it, else by 65535 or their own maximum."""
    x = a.astype(np.float64)
    high = float(x.max(initial=0))
    if sixteen_bit:
        top = 65535.0
    elif a.dtype.kind == "f" and high <= 1.0:
        top = 1.0
    else:
        top = 255.0 if high <= 255 else 65535.0 if high <= 65535 else high
    return np.clip(np.rint(x / top * 255.0), 0, 255).astype(np.uint8)


def reason(error: BaseException) -> str:
    """A decoding error's message in one line, without Pillow's path repetition."""
    text = str(error).split("\n")[0]
    return text.replace("cannot identify image file", "not an image format Pillow reads").split(" '")[0] or type(
        error).__name__
