"""Data sets: the ``nnfs`` package's, and readers for Fashion-MNIST.

``spiral_data``, ``vertical_data`` and ``sine_data`` are the ``nnfs`` functions
themselves. :func:`load_fashion_mnist` reads the official
``*-idx*-ubyte`` files (gzipped or not) with NumPy alone;
:func:`create_data_mnist` and :func:`load_mnist_dataset` (from
:mod:`jitnet.png`) read chapter 19's ``fashion_mnist_images`` folders of PNGs
without OpenCV. jitnet never downloads anything.
"""
import gzip
import os

import numpy as np
from nnfs.datasets import sine_data, spiral_data, vertical_data

from .png import create_data_mnist, load_mnist_dataset, read_png

__all__ = ["spiral_data", "vertical_data", "sine_data", "load_fashion_mnist",
           "read_idx", "FASHION_MNIST_FILES", "FASHION_MNIST_LABELS",
           "create_data_mnist", "load_mnist_dataset", "read_png"]

#: The four files, as Zalando publishes them (a ``.gz`` suffix is optional).
FASHION_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}
FASHION_MNIST_LABELS = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# idx type byte -> dtype (big-endian, as the format stores them)
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path):
    """Read one idx file (optionally gzipped) into an array.

    Raises
    ------
    ValueError
        If the header is not an idx header or the data length does not match it.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        try:
            data = f.read()
        except (OSError, EOFError) as err:
            raise ValueError(f"read_idx: {path!s} is damaged ({err})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {path!s} does not start with an idx header")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise ValueError(f"read_idx: {path!s} has a truncated header")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(data) - header != expected:
        raise ValueError(f"read_idx: {path!s} holds {len(data) - header} bytes of"
                         f" data but its header {shape} needs {expected}")
    return np.frombuffer(data, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _find(folder, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(
        f"load_fashion_mnist: no {name}(.gz) in {folder!r}. Download the four"
        f" Fashion-MNIST files ({', '.join(FASHION_MNIST_FILES.values())}) from"
        f" the project's GitHub page (zalandoresearch/fashion-mnist) into that folder")


def load_fashion_mnist(path, *, scale=True, flatten=True):
    """Fashion-MNIST from the official idx files in folder ``path``.

    Parameters
    ----------
    path : str or path-like
        Folder holding the four ``*-idx*-ubyte`` files (``.gz`` or not).
    scale : bool
        Scale pixels to [-1, 1] as the book's chapter 19 does
        (``(x - 127.5) / 127.5``, float32); otherwise keep uint8.
    flatten : bool
        Images as rows of 784 values (the book's ``reshape``) or (n, 28, 28).

    Returns
    -------
    X_train, y_train, X_test, y_test
        Images (60000 and 10000 of them in the real set) and uint8 labels 0-9
        (names in :data:`FASHION_MNIST_LABELS`).
    """
    folder = os.fspath(path)
    arrays = {key: read_idx(_find(folder, name)) for key, name in FASHION_MNIST_FILES.items()}
    out = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"load_fashion_mnist: {split} images {images.shape} and"
                             f" labels {labels.shape} do not match")
        if flatten:
            images = images.reshape(len(images), -1)
        if scale:
            images = ((images.astype(np.float32) - 127.5) / 127.5).astype(np.float32)
        out += [images, labels.astype(np.uint8)]
    return tuple(out)
