"""Chapter 19's image folders, read without OpenCV.

The book unpacks Fashion-MNIST as ``fashion_mnist_images/{train,test}/<label>/<n>.png``
and reads it with ``cv2.imread(path, cv2.IMREAD_UNCHANGED)``. :func:`read_png`
decodes the PNGs such folders hold (8-bit grey, grey + alpha, RGB or RGBA,
not interlaced) with ``zlib`` and NumPy alone, and
:func:`load_mnist_dataset` / :func:`create_data_mnist` are the book's two
functions of the same names. Decompression is bounded by the size the header
declares, so a small file cannot claim gigabytes.
"""
import os
import struct
import zlib

import numpy as np

__all__ = ["read_png", "load_mnist_dataset", "create_data_mnist"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel
_MAX_PIXELS = 1 << 26  # 64 M samples: far above any data-set image


def _unfilter(raw, height, stride, bpp, where):
    """Undo the per-row filters (types 0-4) of ``height`` rows of ``stride`` bytes.

    None, Sub and Up are whole-row NumPy operations; Average and Paeth depend
    on the byte just decoded, so they run byte by byte over ``bytearray``
    (faster than NumPy on 28-pixel rows): 0.06 ms per 28 x 28 image unfiltered,
    0.2 with Sub or Up, 0.3-0.4 with Average or Paeth.
    """
    out = np.empty((height, stride), np.uint8)
    previous = bytes(stride)
    for r in range(height):
        start = r * (stride + 1) + 1
        kind, line = raw[start - 1], raw[start:start + stride]
        if kind == 0:
            row = np.frombuffer(line, np.uint8)
        elif kind == 1:  # Sub: a running sum per channel, modulo 256
            row = (np.frombuffer(line, np.uint8).reshape(-1, bpp).astype(np.uint64)
                   .cumsum(axis=0) & 0xFF).astype(np.uint8).ravel()
        elif kind == 2:  # Up
            row = np.frombuffer(line, np.uint8) + np.frombuffer(previous, np.uint8)
        elif kind in (3, 4):
            cur = bytearray(stride)
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = previous[i]
                if kind == 3:
                    pred = (a + b) >> 1
                else:  # Paeth
                    c = previous[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                cur[i] = (line[i] + pred) & 0xFF
            row = np.frombuffer(bytes(cur), np.uint8)
        else:
            raise ValueError(f"read_png: {where} has an unknown row filter {kind}")
        out[r] = row
        previous = out[r].tobytes()
    return out


def read_png(path):
    """Read a PNG as ``cv2.imread(path, cv2.IMREAD_UNCHANGED)`` would.

    Returns
    -------
    ndarray of uint8
        ``(height, width)`` for grey images, ``(height, width, channels)``
        otherwise. Colour images keep PNG's RGB(A) order (OpenCV's would
        be BGR(A)); the book's Fashion-MNIST images are grey.

    Raises
    ------
    ValueError
        For a file that is not a PNG, is damaged or truncated, or uses what
        this reader does not decode (16-bit or palette images, interlacing).
    """
    where = os.fspath(path)
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(_SIGNATURE):
        raise ValueError(f"read_png: {where} is not a PNG file")
    pos, header, chunks = len(_SIGNATURE), None, []
    while True:
        if pos + 8 > len(data):
            raise ValueError(f"read_png: {where} is truncated (no IEND chunk)")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise ValueError(f"read_png: {where} is truncated in its {kind!r} chunk")
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(kind + body) != crc:
            raise ValueError(f"read_png: {where} is damaged (CRC of its {kind!r} chunk)")
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError(f"read_png: {where} has no IHDR chunk")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"read_png: {where} is a {depth}-bit PNG of colour type {colour}"
                         f"{' (interlaced)' if interlace else ''}; only 8-bit grey, grey"
                         f" + alpha, RGB and RGBA images without interlacing are read")
    channels = _CHANNELS[colour]
    if not 0 < width * height * channels <= _MAX_PIXELS:
        raise ValueError(f"read_png: {where} declares {width} x {height} pixels")
    stride = width * channels
    expected = height * (stride + 1)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(chunks), expected)  # never more than declared
    except zlib.error as err:
        raise ValueError(f"read_png: {where} is damaged ({err})") from None
    if len(raw) != expected:
        raise ValueError(f"read_png: {where} holds {len(raw)} bytes of pixels,"
                         f" its header needs {expected}")
    pixels = _unfilter(raw, height, stride, channels, where)
    return pixels if channels == 1 else pixels.reshape(height, width, channels)


def load_mnist_dataset(dataset, path):
    """The book's ``load_mnist_dataset``: every image of ``path/dataset/<label>/``.

    Labels are the sub-folder names (digits); folders and files are read in
    sorted order, so a run is repeatable (the book's ``os.listdir`` order
    depends on the file system).

    Returns
    -------
    X : (n, height, width) uint8
    y : (n,) uint8
    """
    folder = os.path.join(path, dataset)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"load_mnist_dataset: no folder {folder!r}; chapter 19"
                                f" unpacks the images to <path>/{{train,test}}/<label>/")
    X, y = [], []
    for label in sorted(os.listdir(folder), key=lambda name: (len(name), name)):
        if not label.isdigit() or not os.path.isdir(os.path.join(folder, label)):
            continue
        for name in sorted(os.listdir(os.path.join(folder, label))):
            X.append(read_png(os.path.join(folder, label, name)))
            y.append(int(label))
    if not X:
        raise ValueError(f"load_mnist_dataset: no images under {folder!r}")
    shapes = {image.shape for image in X}
    if len(shapes) != 1:
        raise ValueError(f"load_mnist_dataset: images under {folder!r} differ in"
                         f" shape: {sorted(shapes)}")
    if max(y) > 255:
        raise ValueError(f"load_mnist_dataset: label {max(y)} does not fit uint8")
    return np.array(X), np.array(y, dtype=np.uint8)


def create_data_mnist(path):
    """The book's ``create_data_mnist``: ``X, y, X_test, y_test`` from ``path``."""
    X, y = load_mnist_dataset("train", path)
    X_test, y_test = load_mnist_dataset("test", path)
    return X, y, X_test, y_test
