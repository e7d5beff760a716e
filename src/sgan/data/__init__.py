"""Datasets and the semi-supervised split a run sees.

`sources`: the registry of dataset descriptions, the search path, downloads and checksums.
`idx`: the IDX reader (MNIST, Fashion-MNIST) and `load`, which reads any named dataset.
`cifar`: CIFAR-10's binary batches. `svhn`: SVHN's MATLAB files and a MAT-file reader.
`split`: the labeled / unlabeled / test split.
`summary`: a dataset's facts and example grid.
"""

from sgan.data.cifar import CIFAR10, read_cifar
from sgan.data.idx import MNIST, FashionMNIST, read_idx
from sgan.data.sources import DATASETS, SYSTEM_DATA_DIR, DataError, default_cache_dir, find_dataset, verify_checksums
from sgan.data.split import (
    SemiSupervisedSplit,
    indices_sha256,
    make_split,
    scale_pixels,
    select_labeled,
    synthetic_split,
)
from sgan.data.summary import data_summary, format_summary
from sgan.data.svhn import SVHN, read_mat, read_svhn

__all__ = [
    "CIFAR10", "DATASETS", "MNIST", "SVHN", "SYSTEM_DATA_DIR", "DataError", "FashionMNIST", "SemiSupervisedSplit",
    "data_summary", "default_cache_dir", "find_dataset", "format_summary", "indices_sha256", "make_split",
    "read_cifar", "read_idx", "read_mat", "read_svhn", "scale_pixels", "select_labeled", "synthetic_split",
    "verify_checksums",
]
