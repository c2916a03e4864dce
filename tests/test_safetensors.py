""".safetensors model files: the official reader agrees, and damaged headers are refused."""
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import jitnet as jn
from jitnet import _safetensors
from test_model import build, task_data

# The names that the README documents.
NAMES = {"w0", "b0", "w1", "b1", "state1", "state2"}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained float32 classifier saved whole and as parameters, and its data."""
    X, y = task_data("categorical")
    model = build(0, "categorical", "adam", dtype=np.float32, dropout=0.1)
    model.train(X, y, epochs=2, verbose=False)
    folder = tmp_path_factory.mktemp("safetensors")
    model.save(folder / "m.safetensors")
    model.save_parameters(folder / "p.safetensors")
    return model, X, folder


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_official_reader_opens_jitnet_files(tmp_path, dtype):
    st_numpy = pytest.importorskip("safetensors.numpy")
    safe_open = pytest.importorskip("safetensors").safe_open
    X, y = task_data("binary")
    model = build(0, "binary", "sgd_momentum", dtype=dtype)
    model.train(X, y, epochs=2, verbose=False)
    model.save(tmp_path / "m.safetensors")
    tensors = st_numpy.load_file(tmp_path / "m.safetensors")
    assert set(tensors) == NAMES
    for i, (weights, biases) in enumerate(model.get_parameters()):
        np.testing.assert_array_equal(tensors[f"w{i}"], weights)
        np.testing.assert_array_equal(tensors[f"b{i}"], biases)
        assert tensors[f"w{i}"].dtype == dtype and tensors[f"b{i}"].shape == biases.shape
    np.testing.assert_array_equal(tensors["state1"], model._program.state1)
    with safe_open(tmp_path / "m.safetensors", "np") as f:
        description = json.loads(f.metadata()["jitnet"])
    assert description["format"] == "jitnet-model"
    assert [layer["type"] for layer in description["layers"]] == [
        "Dense", "ReLU", "Dense", "Sigmoid"]
    model.save_parameters(tmp_path / "p.safetensors")
    assert set(st_numpy.load_file(tmp_path / "p.safetensors")) == {"w0", "b0", "w1", "b1"}


def test_files_of_the_official_writer_load(saved, tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    model, X, _ = saved
    arrays = {}
    for i, (weights, biases) in enumerate(model.get_parameters()):
        arrays[f"w{i}"], arrays[f"b{i}"] = weights, biases.ravel()  # (n,) biases too
    st_numpy.save_file(arrays, tmp_path / "theirs.safetensors")
    other = build(0, "categorical", "adam", dtype=np.float32, dropout=0.1, seed=7)
    other.load_parameters(tmp_path / "theirs.safetensors")
    np.testing.assert_array_equal(other.predict(X), model.predict(X))


def test_suffix_is_case_insensitive_and_npz_stays_npz(saved, tmp_path):
    model, X, folder = saved
    model.save(tmp_path / "M.SafeTensors")
    assert (tmp_path / "M.SafeTensors").read_bytes()[8:9] == b"{"
    model.save(tmp_path / "m.npz")
    assert (tmp_path / "m.npz").read_bytes()[:2] == b"PK"
    for name in ("M.SafeTensors", "m.npz"):
        np.testing.assert_array_equal(jn.Model.load(tmp_path / name).predict(X),
                                      model.predict(X))


# ---------------------------------------------------------- damaged headers

def _file(header, data=b"", length=None):
    """Bytes of a safetensors file with ``header`` (dict or raw bytes) and ``data``."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _tensor(begin, end, shape=(2,), dtype="F32"):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [begin, end]}


DAMAGED = {
    "short": (b"\x01\x00", "fewer than the 8"),
    "absurd header length": (_file(b"{}", length=2**40), "claims 1099511627776 bytes"),
    "header past the end": (_file(b"{}", length=4096), "truncated"),
    "not JSON": (_file(b"{nope"), "not valid JSON"),
    "not an object": (_file(b"[1, 2]"), "not a JSON object"),
    "not UTF-8": (_file(b'{"\xff": 1}'), "not valid JSON"),
    "deep nesting": (_file(b"{" + b'"a":[' * 100000), "not valid JSON"),
    "duplicate names": (_file(b'{"w0": %s, "w0": %s}' % (
        json.dumps(_tensor(0, 8)).encode(), json.dumps(_tensor(0, 8)).encode()),
        bytes(8)), "more than once"),
    "unknown dtype": (_file({"w0": _tensor(0, 4, dtype="BF16")}, bytes(4)), "BF16"),
    "shape not counts": (_file({"w0": _tensor(0, 8, shape=(-2,))}, bytes(8)), "shape"),
    "bool in shape": (_file({"w0": _tensor(0, 4, shape=(True,))}, bytes(4)), "shape"),
    "extra key": (_file({"w0": {**_tensor(0, 8), "evil": 1}}, bytes(8)), "exactly"),
    "offsets reversed": (_file({"w0": _tensor(8, 0)}, bytes(8)), "begin <= end"),
    "size disagrees": (_file({"w0": _tensor(0, 12)}, bytes(12)), "takes 8 bytes"),
    "offsets past the end": (_file({"w0": _tensor(0, 2**40, shape=(2**38,))}, bytes(8)),
                             "'w0' ends at byte 1099511627776"),
    "overlap": (_file({"w0": _tensor(0, 8), "b0": _tensor(4, 12)}, bytes(12)), "overlaps"),
    "gap": (_file({"w0": _tensor(0, 8), "b0": _tensor(12, 20)}, bytes(20)), "gap"),
    "trailing bytes": (_file({"w0": _tensor(0, 8)}, bytes(9)), "holds 9 bytes"),
    "metadata not strings": (_file({"__metadata__": {"jitnet": 3}}), "__metadata__"),
}


@pytest.mark.parametrize("case", sorted(DAMAGED))
def test_damaged_headers_raise_value_error(saved, tmp_path, case):
    content, words = DAMAGED[case]
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    model = saved[0]
    for load in (jn.Model.load, model.load_parameters):
        with pytest.raises(ValueError, match="not a jitnet file") as info:
            load(path)
        assert words in str(info.value)


def test_a_file_cut_short_is_refused(saved, tmp_path):
    model, _, folder = saved
    whole = (folder / "m.safetensors").read_bytes()
    for cut in (4, len(whole) // 2, len(whole) - 7):
        (tmp_path / "cut.safetensors").write_bytes(whole[:cut])
        with pytest.raises(ValueError, match="truncated|fewer than the 8"):
            jn.Model.load(tmp_path / "cut.safetensors")


def test_zero_sized_and_non_float_tensors_are_read_but_refused_as_parameters(saved, tmp_path):
    model = saved[0]
    path = tmp_path / "odd.safetensors"
    with open(path, "wb") as f:
        _safetensors.write(f, {"empty": np.zeros((0, 3), np.float32),
                               "w0": np.zeros((2, 16), np.int32)})
    with open(path, "rb") as f:
        _, entries, start = _safetensors.read_header(f, path.stat().st_size)
        assert _safetensors.read_tensor(f, start, entries["empty"]).shape == (0, 3)
    with pytest.raises(ValueError, match=r"'w0' as int32.*float32 or float64"):
        model.load_parameters(path)


def test_a_description_that_outgrows_its_arrays_is_refused_before_building(saved, tmp_path):
    model, _, folder = saved
    with open(folder / "m.safetensors", "rb") as f:
        size = (folder / "m.safetensors").stat().st_size
        metadata, entries, start = _safetensors.read_header(f, size)
        arrays = {name: _safetensors.read_tensor(f, start, e) for name, e in entries.items()}
    description = json.loads(metadata["jitnet"])
    description["layers"][0]["n_neurons"] = 10**9  # 12 GB of parameters
    with open(tmp_path / "big.safetensors", "wb") as f:
        _safetensors.write(f, arrays, {"jitnet": json.dumps(description)})
    with pytest.raises(ValueError, match=r"'w0' as float32 of shape \(\d+, \d+\); this model"
                                         r" needs float32 of shape \(\d+, 1000000000\)"):
        jn.Model.load(tmp_path / "big.safetensors")


def test_missing_arrays_and_other_shapes_are_named(saved, tmp_path):
    model, _, folder = saved
    with open(folder / "p.safetensors", "rb") as f:
        _, entries, start = _safetensors.read_header(f, (folder / "p.safetensors").stat().st_size)
        arrays = {name: _safetensors.read_tensor(f, start, e) for name, e in entries.items()}
    path = tmp_path / "bad.safetensors"
    for edit, words in ((lambda a: a.pop("b1"), "no array 'b1'"),
                        (lambda a: a.update(w1=np.zeros((16, 4), np.float32)), "'w1'")):
        damaged = dict(arrays)
        edit(damaged)
        with open(path, "wb") as f:
            _safetensors.write(f, damaged)
        with pytest.raises(ValueError, match=words):
            model.load_parameters(path)


# Values that a damaged header might hold instead of a dtype, shape or offsets.
_ODD = st.one_of(st.integers(-2, 2**41), st.lists(st.integers(-1, 200), max_size=3),
                 st.sampled_from(["F32", "F64", "I8", "BF16", "f4"]), st.none(),
                 st.booleans(), st.text(max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(NAMES)),
                          st.sampled_from(["dtype", "shape", "data_offsets"]), _ODD),
                min_size=1, max_size=3),
       st.integers(-16, 16))
def test_fuzz_edited_headers_load_or_raise_value_error(saved, tmp_path_factory, edits, resize):
    """Header fields replaced and the data cut or lengthened: a working model or ValueError."""
    model, X, folder = saved
    whole = (folder / "m.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", whole[:8])
    header = json.loads(whole[8:8 + n])
    for name, field, value in edits:
        header[name][field] = value
    data = whole[8 + n:]
    data = data[:len(data) + resize] if resize < 0 else data + bytes(resize)
    path = tmp_path_factory.mktemp("edited") / "m.safetensors"
    path.write_bytes(_file(header, data))
    try:
        loaded = jn.Model.load(path)
    except ValueError:
        return
    out = loaded.predict(X)
    assert out.shape == (len(X), 3) and np.all(np.isfinite(out))
