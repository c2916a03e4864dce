"""``jitnet.datasets``: the nnfs data sets and the Fashion-MNIST idx reader."""
import gzip

import numpy as np
import pytest

from jitnet import datasets


def write_idx(path, array, type_byte=0x08):
    header = bytes([0, 0, type_byte, array.ndim])
    header += np.array(array.shape, ">u4").tobytes()
    payload = header + array.astype(">u1" if type_byte == 0x08 else ">i4").tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


@pytest.fixture
def fashion_folder(tmp_path):
    rng = np.random.default_rng(0)
    parts = {"train_images": rng.integers(0, 256, (12, 28, 28)),
             "train_labels": rng.integers(0, 10, 12),
             "test_images": rng.integers(0, 256, (5, 28, 28)),
             "test_labels": rng.integers(0, 10, 5)}
    for key, name in datasets.FASHION_MNIST_FILES.items():
        suffix = ".gz" if "train" in key else ""  # both forms are read
        write_idx(tmp_path / (name + suffix), parts[key])
    return tmp_path, parts


def test_reads_the_official_format(fashion_folder):
    folder, parts = fashion_folder
    X, y, X_test, y_test = datasets.load_fashion_mnist(folder)
    assert X.shape == (12, 784) and X.dtype == np.float32
    assert X_test.shape == (5, 784) and y.dtype == np.uint8
    np.testing.assert_array_equal(y, parts["train_labels"])
    np.testing.assert_allclose(X, (parts["train_images"].reshape(12, -1) - 127.5) / 127.5,
                               rtol=1e-6)
    assert X.min() >= -1 and X.max() <= 1
    raw = datasets.load_fashion_mnist(folder, scale=False, flatten=False)
    np.testing.assert_array_equal(raw[0], parts["train_images"])


def test_missing_files_explain_where_to_put_them(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        datasets.load_fashion_mnist(tmp_path)


@pytest.mark.parametrize("damage", ["truncated", "not idx", "mismatch"])
def test_damaged_files_raise_value_error(fashion_folder, damage):
    folder, parts = fashion_folder
    target = folder / "t10k-labels-idx1-ubyte"
    if damage == "truncated":
        target.write_bytes(target.read_bytes()[:-2])
    elif damage == "not idx":
        target.write_bytes(b"PK\x03\x04 a zip file, say")
    else:
        write_idx(target, np.zeros(4, int))  # 4 labels for 5 images
    with pytest.raises(ValueError):
        datasets.load_fashion_mnist(folder)


def test_nnfs_data_sets_are_re_exported():
    import nnfs.datasets
    assert datasets.spiral_data is nnfs.datasets.spiral_data
    assert datasets.sine_data is nnfs.datasets.sine_data
    assert datasets.vertical_data is nnfs.datasets.vertical_data
