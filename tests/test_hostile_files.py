"""Hostile model files are refused fast, with memory bounded by the model's own size.

Each file declares far more data than a small model has: a zip bomb (4 MB
that inflates to 4 GB), a description of 2 GB, a safetensors header of 2**40
bytes, and so on. A child process loads them one after the other and reports,
for each, the time to the ValueError and its peak RSS (``ru_maxrss``) over a
baseline taken after it loaded good files of both formats (so imports and
compiled kernels are in the baseline). Before the loader checked sizes, the
zip bomb took 25 s and 4 GB; the bounds below are not benchmarks, they catch
a blow-up.
"""
import io
import json
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib

import numpy as np
import pytest

import jitnet as jn
from test_files import _rewrite_description
from test_model import build, task_data

MAX_SECONDS = 2.0
MAX_GROWTH_MB = 50


def deflated_zeros(n_bytes, chunk=1 << 20):
    """A raw deflate stream of ``n_bytes`` zeros, made in milliseconds.

    After a full flush a compressor forgets its history, so every 1 MB chunk of
    zeros compresses to the same bytes: one chunk's bytes repeated.
    """
    piece = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = piece.compress(bytes(chunk)) + piece.flush(zlib.Z_FULL_FLUSH)
    count, rest = divmod(n_bytes, chunk)
    tail = zlib.compressobj(9, zlib.DEFLATED, -15)
    return piece * count + tail.compress(bytes(rest)) + tail.flush()


def npy_bomb(shape, descr="<f4", zeros=None):
    """(deflate stream, size) of a .npy member: a header, then zeros for ``shape``
    (or ``zeros`` bytes of them)."""
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": descr, "fortran_order": False, "shape": shape})
    head = head.getvalue()
    size = int(np.prod(shape)) * np.dtype(descr).itemsize if zeros is None else zeros
    flush = zlib.compressobj(9, zlib.DEFLATED, -15)
    return flush.compress(head) + flush.flush(zlib.Z_FULL_FLUSH) + deflated_zeros(size), \
        len(head) + size


def write_zip(path, members):
    """A zip of ``(name, data, method, size)`` members, ZIP64 sizes on every entry.

    Written by hand because zipfile cannot store an already deflated stream.
    CRCs of the bombs are left 0: a reader that inflates them learns that only
    at the end, after the damage.
    """
    out, central = bytearray(), bytearray()
    for name, data, method, size in members:
        offset, name = len(out), name.encode()
        crc = zlib.crc32(data) if method == 0 else 0
        extra = struct.pack("<HHQQ", 1, 16, size, len(data))
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, method, 0, 0x21, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra)) + name + extra + data
        extra = struct.pack("<HHQQQ", 1, 24, size, len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, method, 0, 0x21,
                               crc, 0xFFFFFFFF, 0xFFFFFFFF, len(name), len(extra), 0, 0, 0,
                               0, 0xFFFFFFFF) + name + extra
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                      len(central), len(out), 0)
    path.write_bytes(bytes(out + central + end))


def replace_member(good, path, member, data, size, **more):
    """A copy of the .npz ``good`` with ``member`` replaced by a deflated stream
    (``data``, declaring ``size`` bytes), and likewise each ``name=(data, size)``
    of ``more`` (the member ``name + ".npy"``)."""
    streams = {member: (data, size), **{f"{name}.npy": pair for name, pair in more.items()}}
    with zipfile.ZipFile(good) as z:
        members = [(info.filename, z.read(info), 0, info.file_size)
                   for info in z.infolist()]
    write_zip(path, [(n, *streams[n][:1], 8, streams[n][1]) if n in streams else (n, d, m, s)
                     for n, d, m, s in members])


def safetensors_file(path, header, data=b"", length=None):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """{case: (path, loader, words)}, and the good files."""
    folder = tmp_path_factory.mktemp("hostile")
    X, y = task_data("categorical")
    model = build(0, "categorical", "adam", dtype=np.float32)
    model.train(X, y, epochs=1, verbose=False)
    good, good_st = folder / "good.model", folder / "good.safetensors"
    model.save(good)
    model.save(good_st)
    cases = {}

    def case(name, loader, words):
        suffix = ".safetensors" if name.startswith("safetensors") else ".model"
        cases[name] = (folder / f"case{len(cases)}{suffix}", loader, words)
        return cases[name][0]

    bomb = case("npz: w0 inflates to 4 GB", "both", "'w0' as float32 of shape (1073741824,)")
    replace_member(good, bomb, "w0.npy", *npy_bomb((2**30,)))
    lying = case("npz: w0 header (2, 16), 4 GB inflated", "both",
                 "'w0' declares float32 of shape (2, 16) (128 bytes)")
    replace_member(good, lying, "w0.npy", *npy_bomb((2, 16), zeros=2**32))
    story = case("npz: a description of 2 GB", "load", "536870911 characters")
    replace_member(good, story, "__jitnet__.npy", *npy_bomb((), "<U536870911"))
    big = case("npz: Dense(2, 10**8) described, 2 x 16 stored", "load",
               "'w0' as float32 of shape (2, 16); this model needs float32 of shape"
               " (2, 100000000)")
    _rewrite_description(good, big, lambda d: d["layers"][0].update(n_neurons=10**8))
    # Sizes that agree everywhere (description, .npy headers, zip directory) but
    # data that is not there: 128 kB of the 256 MB and 128 MB that w0 and b0
    # declare. Before the arrays were read ahead of building, this cost 1.5 GB.
    short = case("npz: Dense(2, 2**25) described and declared, 128 kB stored", "load",
                 "is not a jitnet file")
    described = folder / "described.model"
    _rewrite_description(good, described, lambda d: d["layers"][0].update(n_neurons=2**25))
    (w, w_size), (b, b_size) = (npy_bomb(shape, zeros=2**17)
                                for shape in ((2, 2**25), (1, 2**25)))
    replace_member(described, short, "w0.npy", w, w_size - 2**17 + 2 * 2**25 * 4,
                   b0=(b, b_size - 2**17 + 2**25 * 4))
    cut = case("safetensors: truncated", "both", "truncated")
    cut.write_bytes(good_st.read_bytes()[:len(good_st.read_bytes()) // 2])
    safetensors_file(case("safetensors: header of 2**40 bytes", "both", "claims 10995"),
                     {}, length=2**40)
    safetensors_file(case("safetensors: w0 of 2**40 bytes", "both", "'w0' ends at byte 10995"),
                     {"w0": {"dtype": "F32", "shape": [2**38], "data_offsets": [0, 2**40]}},
                     bytes(64))
    safetensors_file(case("safetensors: overlapping", "both", "overlaps"),
                     {"w0": {"dtype": "F32", "shape": [2, 16], "data_offsets": [0, 128]},
                      "b0": {"dtype": "F32", "shape": [1, 16], "data_offsets": [64, 128]}},
                     bytes(128))
    return cases, good, good_st


CHILD = textwrap.dedent("""
    import json, resource, sys, time
    import jitnet as jn

    def peak_mb():  # ru_maxrss counts kB on Linux, bytes on macOS
        scale = 2**20 if sys.platform == "darwin" else 2**10
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / scale

    good, good_st, cases = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    model = jn.Model.load(good)
    jn.Model.load(good_st).load_parameters(good)
    model.load_parameters(good_st)
    baseline, results = peak_mb(), []
    for path, loader in cases:
        start = time.perf_counter()
        try:
            jn.Model.load(path) if loader == "load" else model.load_parameters(path)
            error = None
        except Exception as err:
            error = f"{type(err).__name__}: {err}"
        results.append([time.perf_counter() - start, peak_mb() - baseline, error])
    print(json.dumps(results))
""")


def test_hostile_files_fail_fast_with_bounded_memory(files):
    pytest.importorskip("resource")  # not on Windows
    cases, good, good_st = files
    runs = [(name, str(path), loader) for name, (path, loaders, _) in cases.items()
            for loader in (("load", "load_parameters") if loaders == "both" else (loaders,))]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(good), str(good_st),
         json.dumps([run[1:] for run in runs])],
        capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    results = json.loads(child.stdout)
    report = "\n".join(f"{name} [{loader}]: {seconds:.3f} s, +{growth:.1f} MB, {error}"
                       for (name, _, loader), (seconds, growth, error) in zip(runs, results))
    print(report)  # pytest -s shows the measurements
    for (name, _, loader), (seconds, growth, error) in zip(runs, results):
        assert error and error.startswith("ValueError"), (name, loader, error)
        assert cases[name][2] in error, (name, loader, error)
        assert seconds < MAX_SECONDS and growth < MAX_GROWTH_MB, (name, loader, report)


def test_hostile_files_are_refused_in_process_too(files):
    """The same checks, without the child, so a failure shows a traceback."""
    cases, _, _ = files
    for name, (path, _, words) in cases.items():
        with pytest.raises(ValueError) as info:
            jn.Model.load(path)
        assert words in str(info.value), name
