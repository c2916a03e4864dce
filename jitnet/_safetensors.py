"""The safetensors format, read and written here without the ``safetensors`` package.

A file is an 8-byte little-endian header length ``n``, ``n`` bytes of UTF-8
JSON, then the tensors' raw little-endian bytes, C order::

    {"__metadata__": {"key": "text", ...},
     "w0": {"dtype": "F32", "shape": [2, 64], "data_offsets": [0, 512]}, ...}

Offsets count from the first byte after the header. The header may end in
spaces (the writer pads it to a multiple of 8 so the data stays aligned).

The reader refuses, as the format's specification asks, a header that is not
a JSON object of such entries, names that repeat, sizes that disagree with
dtype and shape, and data offsets that overlap, leave gaps or do not end
exactly at the end of the file; it does so before reading any tensor data, so
a hostile header costs at most :data:`MAX_HEADER_BYTES` of memory. Reading a
tensor reads exactly its declared bytes into a preallocated array.

Specification: the "Format" section of github.com/huggingface/safetensors.
"""
import json
import struct
from collections import Counter, namedtuple

import numpy as np

#: A header longer than this is refused before it is read. The official
#: library allows 100 MB; jitnet's headers are a few kB per layer.
MAX_HEADER_BYTES = 4 << 20
_CHUNK = 1 << 22  # the bounded read's step, bytes
METADATA_KEY = "__metadata__"
#: The format's dtype names that NumPy can hold (BF16 and F8 it cannot).
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2",
          "U8": "u1", "BOOL": "?"}
_NAMES = {np.dtype(code): name for name, code in DTYPES.items()}

#: One tensor's header entry: dtype (little-endian NumPy dtype), shape
#: (tuple of ints) and its data's ``begin`` and ``end`` offsets.
Entry = namedtuple("Entry", "dtype shape begin end")


def write(f, arrays, metadata=None):
    """Write ``arrays`` (a mapping of names to arrays) to the binary file ``f``.

    Parameters
    ----------
    f : binary file object, opened for writing
    arrays : mapping of str to ndarray
        Any shape; dtypes of :data:`DTYPES` (byte order is converted).
    metadata : mapping of str to str, optional
        Stored as the header's ``__metadata__``.
    """
    header, ordered = {}, []
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise TypeError("safetensors metadata must map str to str")
        header[METADATA_KEY] = dict(metadata)
    # The widest dtypes first, so that every tensor starts aligned to its
    # itemsize (the header is padded to a multiple of 8).
    items = sorted(arrays.items(), key=lambda item: -np.asarray(item[1]).dtype.itemsize)
    offset = 0
    for name, array in items:
        array = np.asarray(array)
        if name == METADATA_KEY or array.dtype.newbyteorder("<") not in _NAMES:
            raise ValueError(f"safetensors: cannot store {name!r} of dtype {array.dtype}")
        little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
        header[name] = {"dtype": _NAMES[little.dtype], "shape": list(little.shape),
                        "data_offsets": [offset, offset + little.nbytes]}
        offset += little.nbytes
        ordered.append(little)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for little in ordered:
        f.write(little.reshape(-1).view(np.uint8).data)


def _no_duplicates(pairs):
    counts = Counter(name for name, _ in pairs)
    if len(counts) != len(pairs):  # one pass: a header may hold 10**5 names
        repeated = sorted(name for name, count in counts.items() if count > 1)
        raise ValueError(f"the header names {repeated[:10]} more than once")
    return dict(pairs)


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _entry(name, raw):
    """Check one header entry; return its :data:`Entry`."""
    if not isinstance(raw, dict) or set(raw) != {"dtype", "shape", "data_offsets"}:
        raise ValueError(f"tensor {name!r}: an entry needs exactly dtype, shape and"
                         f" data_offsets, got {raw!r:.200}")
    dtype, shape, offsets = raw["dtype"], raw["shape"], raw["data_offsets"]
    if dtype not in DTYPES:
        raise ValueError(f"tensor {name!r}: dtype {dtype!r:.40} is not one of {sorted(DTYPES)}")
    if not isinstance(shape, list) or not all(map(_is_count, shape)):
        raise ValueError(f"tensor {name!r}: shape {shape!r:.200} is not a list of counts")
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(map(_is_count, offsets)) or offsets[0] > offsets[1]):
        raise ValueError(f"tensor {name!r}: data_offsets {offsets!r:.200} are not"
                         f" [begin, end] with 0 <= begin <= end")
    dtype = np.dtype(DTYPES[dtype])
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if offsets[1] - offsets[0] != nbytes:
        raise ValueError(f"tensor {name!r}: {raw['dtype']} of shape {tuple(shape)} takes"
                         f" {nbytes} bytes but data_offsets {offsets} span"
                         f" {offsets[1] - offsets[0]}")
    return Entry(dtype, tuple(shape), offsets[0], offsets[1])


def read_header(f, file_size):
    """Read and check the header of the safetensors file ``f`` of ``file_size`` bytes.

    Returns
    -------
    metadata : dict of str to str
        The ``__metadata__`` (empty if absent).
    entries : dict of str to Entry
        Each tensor's dtype, shape and data offsets, checked against each
        other and against the file's size.
    data_start : int
        Offset in the file of the first data byte (``8 + n``).

    Raises
    ------
    ValueError
        Saying what is wrong, for any departure from the format.
    """
    prefix = f.read(8)
    if len(prefix) < 8:
        raise ValueError(f"the file has {len(prefix)} bytes, fewer than the 8 of the"
                         f" header length")
    (n,) = struct.unpack("<Q", prefix)
    if n > MAX_HEADER_BYTES:
        raise ValueError(f"the header claims {n} bytes, more than the"
                         f" {MAX_HEADER_BYTES} allowed")
    if 8 + n > file_size:
        raise ValueError(f"the header claims {n} bytes but the file has only"
                         f" {file_size - 8} after the length (truncated?)")
    raw = f.read(n)
    if len(raw) != n or not raw.startswith(b"{"):
        raise ValueError("the header is not a JSON object")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ValueError(f"the header is not valid JSON ({err})") from None
    metadata = header.pop(METADATA_KEY, {})
    if not isinstance(metadata, dict) or not all(
            isinstance(v, str) for v in metadata.values()):
        raise ValueError("__metadata__ is not an object of strings")
    entries = {name: _entry(name, raw) for name, raw in header.items()}
    # The data must be tiled exactly: no overlaps, no gaps, nothing after.
    data_size, position, before = file_size - 8 - n, 0, None
    for name, entry in sorted(entries.items(), key=lambda item: (item[1].begin, item[1].end)):
        if entry.begin != position:
            relation = "overlaps" if entry.begin < position else "leaves a gap after"
            raise ValueError(f"tensor {name!r} (data_offsets [{entry.begin}, {entry.end}])"
                             f" {relation} {before or 'the start'} (ending at {position})")
        position, before = entry.end, repr(name)
    if position != data_size:
        raise ValueError(f"the data of {before or 'the tensors'} ends at byte {position} but"
                         f" the file holds {data_size} bytes of data" +
                         (" (truncated?)" if position > data_size else ""))
    return metadata, entries, 8 + n


def read_into(f, array):
    """Fill the C-contiguous ``array`` from the binary file ``f``: exactly its bytes.

    Reads in steps of at most 4 MB, so a file object that copies (a zip
    member's) never holds more than one step beside ``array``.
    """
    view = array.reshape(-1).view(np.uint8)
    done = 0
    while done < view.size:
        got = f.readinto(view[done:done + _CHUNK])
        if not got:
            raise ValueError(f"the data ends {view.size - done} bytes early (truncated)")
        done += got
    return array


def read_tensor(f, data_start, entry):
    """Read one tensor: exactly its declared bytes, into a new array of its shape."""
    f.seek(data_start + entry.begin)
    return read_into(f, np.empty(entry.shape, entry.dtype))
