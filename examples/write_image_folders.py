"""Write a named dataset as the image folders `sgan --data` reads, to try the own-images path on
data whose answer is known:

    python examples/write_image_folders.py --dataset fashion-mnist --out data/fashion-png

    data/fashion-png/labeled/<class>/<index>.png     10 per class by default (--per-class)
    data/fashion-png/unlabeled/<index>.png           every other training image
    data/fashion-png/test/<class>/<index>.png        the test set (--no-test leaves it out)

The labeled images are the ones `--dataset NAME --seed SEED` draws with balanced selection
(sgan.data.select_labeled), and file names are the dataset's indices, zero-padded, so that the
folders hold the same images as the named dataset, unlabeled ones in its order. Classes are
numbered by sorted folder name, which may differ from the dataset's numbering.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from PIL import Image

from sgan.data import DATASETS, find_dataset, select_labeled
from sgan.data.idx import load


def safe(name: str) -> str:
    """A class name as a folder name ("T-shirt/top" -> "T-shirt_top")."""
    return re.sub(r"[^\w.+-]+", "_", name)


def write(images: np.ndarray, names: list[Path]) -> None:
    for image, path in zip(images, names, strict=True):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(path)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="fashion-mnist", choices=list(DATASETS))
    p.add_argument("--data-dir")
    p.add_argument("--out", required=True)
    p.add_argument("--per-class", type=int, default=10)
    p.add_argument("--seed", type=int, default=0, help="the labeled draw's seed, as sgan train --seed")
    p.add_argument("--unlabeled", type=int, help="write only the first N unlabeled images")
    p.add_argument("--test", type=int, help="write only the first N test images")
    p.add_argument("--no-test", action="store_true")
    args = p.parse_args()

    root, out = find_dataset(args.dataset, args.data_dir), Path(args.out)
    train, test = load(args.dataset, root, True), load(args.dataset, root, False)
    classes = [safe(c) for c in DATASETS[args.dataset]["classes"]]
    width = len(str(len(train)))
    labeled = select_labeled(train.targets, args.per_class * len(classes), len(classes), "balanced", args.seed)
    write(train.images[labeled], [out / "labeled" / classes[train.targets[i]] / f"{i:0{width}d}.png" for i in labeled])
    rest = np.setdiff1d(np.arange(len(train)), labeled)[: args.unlabeled]
    write(train.images[rest], [out / "unlabeled" / f"{i:0{width}d}.png" for i in rest])
    n_test = 0
    if not args.no_test:
        keep = np.arange(len(test))[: args.test]
        write(test.images[keep], [out / "test" / classes[test.targets[i]] / f"{i:0{width}d}.png" for i in keep])
        n_test = len(keep)
    print(f"{out}: {len(labeled)} labeled ({args.per_class} per class), {len(rest)} unlabeled, {n_test} test images")


if __name__ == "__main__":
    main()
