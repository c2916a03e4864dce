"""Model files (.npz and .safetensors): round trips, atomic writes, files that must not load."""
import io
import os
import pickle
import zipfile

import numpy as np
import pytest

import jitnet as jn
from test_model import build, task_data


# Model.save and save_parameters choose the format by suffix: .npz for any
# name but one ending in .safetensors.
SUFFIXES = [".model", ".safetensors"]


@pytest.fixture
def trained():
    X, y = task_data("categorical")
    model = build(0, "categorical", "adam", dtype=np.float32, dropout=0.1)
    model.train(X, y, epochs=5, batch_size=64, verbose=False)
    return model, X, y


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_save_and_load_round_trip_then_train_on(trained, tmp_path, suffix):
    model, X, y = trained
    path = tmp_path / f"spiral{suffix}"
    model.save(path)
    assert os.listdir(tmp_path) == [path.name]  # no temp files left behind
    loaded = jn.Model.load(path)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert [type(lay) for lay in loaded.layers] == [type(lay) for lay in model.layers]
    assert loaded.layers[2].drop_rate == model.layers[2].drop_rate
    assert loaded.optimizer.iterations == model.optimizer.iterations
    # Optimizer state came along: further training matches the original's.
    for m in (model, loaded):
        jn.seed(4)
        m.train(X, y, epochs=3, batch_size=64, verbose=False)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    # And after a fresh set/finalize, as in chapter 22.
    loaded.set(loss=jn.CategoricalCrossentropy(), optimizer=jn.SGD())
    loaded.finalize()
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    loaded.train(X, y, epochs=1, verbose=False)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_regression_model_round_trip(tmp_path, suffix):
    X, y = task_data("mse")
    model = build(0, "mse", "rmsprop")
    model.train(X, y, epochs=3, verbose=False)
    model.save(tmp_path / f"sine{suffix}")
    loaded = jn.Model.load(tmp_path / f"sine{suffix}")
    assert loaded.accuracy.precision == model.accuracy.precision
    assert loaded.trainable_layers[0].weights.dtype == np.float64
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("suffix", [".params", ".safetensors"])
def test_parameters_round_trip(trained, tmp_path, suffix):
    model, X, _ = trained
    path = tmp_path / f"p{suffix}"
    model.save_parameters(path)
    other = build(0, "categorical", "adam", dtype=np.float32, dropout=0.1, seed=99)
    other.load_parameters(path)
    np.testing.assert_array_equal(other.predict(X), model.predict(X))
    with pytest.raises(ValueError, match="parameters only"):
        jn.Model.load(path)
    # A float64 model takes float32 parameters (and the other way round).
    wide = build(0, "categorical", "adam", dtype=np.float64, dropout=0.1, seed=99)
    wide.load_parameters(path)
    np.testing.assert_allclose(wide.predict(X), model.predict(X), rtol=1e-5, atol=1e-7)
    # Another architecture is refused by name before any array is read.
    narrow = build(0, "categorical", "adam", dtype=np.float32, width=8)
    with pytest.raises(ValueError, match=r"'w0'.*\(2, 16\).*\(2, 8\)"):
        narrow.load_parameters(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_a_failed_write_leaves_the_old_file_whole(trained, tmp_path, monkeypatch, suffix):
    model, X, _ = trained
    path = tmp_path / f"m{suffix}"
    model.save(path)
    before = path.read_bytes()

    def crash(file, *args, **arrays):
        file.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    monkeypatch.setattr(jn._safetensors, "write", crash)
    for save in (model.save, model.save_parameters):
        with pytest.raises(OSError, match="disk full"):
            save(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("suffix", SUFFIXES)
def test_saved_files_get_the_mode_open_would_give_them(trained, tmp_path, suffix):
    """0o666 less the umask for a new file; an overwritten file keeps its mode."""
    model = trained[0]
    for save in (model.save, model.save_parameters):
        for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
            path = tmp_path / f"{save.__name__}{umask}{suffix}"
            old = os.umask(umask)
            try:
                save(path)
            finally:
                os.umask(old)
            assert path.stat().st_mode & 0o7777 == mode
        path.chmod(0o640)
        save(path)
        assert path.stat().st_mode & 0o7777 == 0o640


def test_the_books_pickled_parameters_are_refused_with_what_to_do(trained, tmp_path):
    """The book's save_parameters pickles get_parameters(); the hint loads it safely."""
    model, X, _ = trained
    path = tmp_path / "book.parms"
    with open(path, "wb") as f:
        pickle.dump([tuple(p * 2 for p in pair) for pair in model.get_parameters()], f)
    for load in (jn.Model.load, model.load_parameters):
        with pytest.raises(ValueError) as info:
            load(path)
        for words in ("not a jitnet file", "pickle", "set_parameters(pickle.load("):
            assert words in str(info.value)
    with open(path, "rb") as f:
        parameters = pickle.load(f)
    model.set_parameters(parameters)
    np.testing.assert_array_equal(model.layers[0].weights, parameters[0][0])


class Boom:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


def test_hostile_and_damaged_files_raise_and_run_nothing(trained, tmp_path):
    model, _, _ = trained
    canary = tmp_path / "canary"
    hostile = tmp_path / "hostile.model"
    hostile.write_bytes(pickle.dumps(Boom(str(canary))))
    good = tmp_path / "good.model"
    model.save(good)
    truncated = tmp_path / "truncated.model"
    truncated.write_bytes(good.read_bytes()[:300])
    garbage = tmp_path / "garbage.model"
    garbage.write_bytes(os.urandom(2000))
    bare = tmp_path / "bare.npy"
    np.save(bare, np.arange(3))
    pickled_npz = tmp_path / "pickled.model"
    np.savez(open(pickled_npz, "wb"), evil=np.array([Boom(str(canary))], dtype=object))
    for path in (hostile, truncated, garbage, bare, pickled_npz):
        for load in (jn.Model.load, model.load_parameters):
            with pytest.raises(ValueError, match="not a jitnet"):
                load(path)
    assert not canary.exists()
    with pytest.raises(FileNotFoundError):
        jn.Model.load(tmp_path / "missing.model")


def _rewrite_description(src, dst, edit):
    import json
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    description = json.loads(str(arrays["__jitnet__"]))
    edit(description)
    arrays["__jitnet__"] = np.array(json.dumps(description))
    with open(dst, "wb") as f:
        np.savez(f, **arrays)


@pytest.mark.parametrize("edit,words", [
    (lambda d: d["layers"].append({"type": "os.system"}), "unknown layer"),
    (lambda d: d["layers"][0].update(n_neurons=-3), "n_neurons"),
    (lambda d: d["layers"][0].update(n_neurons=17), r"needs float32 of shape \(\d+, 17\)"),
    (lambda d: d.update(version=99), "version"),
    (lambda d: d.update(format="something-else"), "not a jitnet"),
    (lambda d: d["optimizer"].update(type="__import__"), "__import__"),
    (lambda d: d["optimizer"].update(iterations="many"), "iterations"),
    (lambda d: d.pop("layers"), "layers"),
])
def test_damaged_descriptions_raise_value_error(trained, tmp_path, edit, words):
    model, _, _ = trained
    good, bad = tmp_path / "good.model", tmp_path / "bad.model"
    model.save(good)
    _rewrite_description(good, bad, edit)
    with pytest.raises(ValueError, match=words):
        jn.Model.load(bad)


def test_zip_with_missing_arrays(trained, tmp_path):
    model, _, _ = trained
    good, bad = tmp_path / "good.model", tmp_path / "bad.model"
    model.save(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            if item.filename != "w1.npy":
                dst.writestr(item, src.read(item.filename))
    with pytest.raises(ValueError, match="w1"):
        jn.Model.load(bad)


def _rewrite_members(src, dst, edit):
    """Copy the .npz ``src`` to ``dst`` with ``edit(members)`` applied to {name: bytes}."""
    with zipfile.ZipFile(src) as zin:
        members = [(item.filename, zin.read(item)) for item in zin.infolist()]
    members = edit(members)
    with zipfile.ZipFile(dst, "w") as zout:
        for name, payload in members:
            zout.writestr(name, payload)


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("edit,words", [
    (lambda m: m + [("readme.txt", b"hi")], "not distinct .npy"),
    (lambda m: m + [m[0]], "not distinct .npy"),
    (lambda m: [(n, _npy(np.array([1.0])) if n == "__jitnet__.npy" else p) for n, p in m],
     "damaged description"),
    (lambda m: [(n, p[:-4] if n == "b0.npy" else p) for n, p in m],
     "'b0' declares float32 of shape (1, 16) (64 bytes) but the zip directory gives it 60"),
    (lambda m: [(n, _npy(np.zeros((2, 16), ">f8")) if n == "w0.npy" else p) for n, p in m],
     "'w0' as >f8 of shape (2, 16); this model needs float32"),
])
def test_members_are_checked_before_reading(trained, tmp_path, edit, words):
    model, _, _ = trained
    good, bad = tmp_path / "good.model", tmp_path / "bad.model"
    model.save(good)
    _rewrite_members(good, bad, edit)
    with pytest.raises(ValueError) as info:
        jn.Model.load(bad)
    assert words in str(info.value)


def test_fortran_ordered_and_big_endian_parameters_load(trained, tmp_path):
    model, X, _ = trained
    good, other = tmp_path / "good.params", tmp_path / "other.params"
    model.save_parameters(good)
    _rewrite_members(good, other, lambda m: [
        (n, _npy(np.asfortranarray(np.load(io.BytesIO(p)).astype(">f8"))))
        for n, p in m])
    fresh = build(0, "categorical", "adam", dtype=np.float32, dropout=0.1, seed=99)
    fresh.load_parameters(other)
    np.testing.assert_array_equal(fresh.predict(X), model.predict(X))
