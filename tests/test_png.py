"""Chapter 19's image folders: the PNG reader and the book's two loaders."""
import os
import struct
import zlib

import numpy as np
import pytest

from jitnet.png import create_data_mnist, load_mnist_dataset, read_png


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def write_png(path, image, filters=(0,)):
    """Encode ``image`` (uint8, 2-D grey or 3-D with 2-4 channels), row r with
    filter ``filters[r % len(filters)]``: an encoder independent of the reader."""
    image = np.asarray(image, np.uint8)
    channels = 1 if image.ndim == 2 else image.shape[2]
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    height, width = image.shape[:2]
    rows = image.reshape(height, width * channels).astype(int)
    raw = bytearray()
    for r in range(height):
        kind = filters[r % len(filters)]
        up = rows[r - 1] if r else np.zeros_like(rows[r])
        raw.append(kind)
        for i, x in enumerate(rows[r]):
            a = rows[r][i - channels] if i >= channels else 0
            b = up[i]
            c = up[i - channels] if i >= channels else 0
            pred = (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]
            raw.append((x - pred) % 256)

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b""))
    with open(path, "wb") as f:
        f.write(data)
    return data


@pytest.mark.parametrize("shape", [(28, 28), (5, 7, 2), (6, 4, 3), (3, 9, 4), (1, 1)])
@pytest.mark.parametrize("filters", [(0,), (1,), (2,), (3,), (4,), (0, 1, 2, 3, 4)])
def test_every_filter_and_colour_type_decodes_exactly(tmp_path, shape, filters):
    image = np.random.default_rng(len(shape) * 7 + sum(filters)).integers(
        0, 256, shape, dtype=np.uint8)
    write_png(tmp_path / "a.png", image, filters)
    decoded = read_png(tmp_path / "a.png")
    assert decoded.dtype == np.uint8 and decoded.shape == image.shape
    np.testing.assert_array_equal(decoded, image)


def test_matplotlibs_pngs_decode_exactly(tmp_path):
    """Another encoder (matplotlib's, through Pillow or its own): RGBA, adaptive filters."""
    plt = pytest.importorskip("matplotlib.pyplot")
    image = np.random.default_rng(1).integers(0, 256, (28, 28, 4), dtype=np.uint8)
    image[..., 3] = 255
    plt.imsave(tmp_path / "m.png", image)
    np.testing.assert_array_equal(read_png(tmp_path / "m.png"), image)


@pytest.mark.parametrize("damage, words", [
    (lambda d: b"GIF89a" + d[6:], "not a PNG"),
    (lambda d: d[:40], "truncated"),
    (lambda d: d[:20] + bytes([d[20] ^ 1]) + d[21:], "CRC"),
    (lambda d: d[:-12], "truncated"),
])
def test_damaged_files_raise_value_error(tmp_path, damage, words):
    data = write_png(tmp_path / "ok.png", np.zeros((8, 8), np.uint8))
    (tmp_path / "bad.png").write_bytes(damage(data))
    with pytest.raises(ValueError, match=words):
        read_png(tmp_path / "bad.png")


def _with_header(tmp_path, width, height, depth, colour):
    """A valid 8 x 8 grey PNG whose IHDR is replaced (CRC fixed)."""
    data = bytearray(write_png(tmp_path / "ok.png", np.zeros((8, 8), np.uint8)))
    body = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    data[16:29] = body
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + body))
    path = tmp_path / "patched.png"
    path.write_bytes(bytes(data))
    return path


def test_a_header_claiming_huge_images_is_refused_before_decompressing(tmp_path):
    with pytest.raises(ValueError, match="declares 100000 x 100000"):
        read_png(_with_header(tmp_path, 100000, 100000, 8, 0))


def test_unsupported_pngs_say_what_is_read(tmp_path):
    with pytest.raises(ValueError, match="16-bit"):
        read_png(_with_header(tmp_path, 8, 8, 16, 0))


def test_the_books_folder_layout(tmp_path):
    """``fashion_mnist_images/{train,test}/<label>/<n>.png``, as chapter 19 unpacks it."""
    rng = np.random.default_rng(0)
    images = {}
    for split, per_label in (("train", 3), ("test", 2)):
        for label in (0, 1, 10):  # "10" sorts after "1" and "0", as a number
            os.makedirs(tmp_path / split / str(label))
            for n in range(per_label):
                image = rng.integers(0, 256, (28, 28), dtype=np.uint8)
                write_png(tmp_path / split / str(label) / f"{n:04d}.png", image, (n % 5,))
                images[(split, label, n)] = image
    (tmp_path / "train" / "README.txt").write_text("not a label folder")
    X, y, X_test, y_test = create_data_mnist(tmp_path)
    assert X.shape == (9, 28, 28) and X.dtype == np.uint8 and y.dtype == np.uint8
    assert y.tolist() == [0, 0, 0, 1, 1, 1, 10, 10, 10]
    assert X_test.shape == (6, 28, 28) and y_test.tolist() == [0, 0, 1, 1, 10, 10]
    np.testing.assert_array_equal(X[4], images[("train", 1, 1)])
    np.testing.assert_array_equal(X_test[5], images[("test", 10, 1)])
    with pytest.raises(FileNotFoundError, match="train"):
        load_mnist_dataset("train", tmp_path / "missing")
