"""Model files that cannot run code: arrays plus a JSON description.

The file name's suffix chooses the format: ``.safetensors`` (see
``_safetensors``; the description is the header's ``__metadata__["jitnet"]``,
a JSON string) or, for any other name, ``.npz`` (NumPy's zip of ``.npy``
members; the description is the member ``__jitnet__.npy``, a 0-d str array).
Files are written to a temporary file beside the target and renamed over it,
so a crash never leaves half a model.

Reading runs no code (no pickle) and trusts no size: a zip member's ``.npy``
header and uncompressed size (from the zip directory), or a safetensors
header, declare every array's dtype and shape; they are checked against each
other when the file is opened and against what the caller expects (the
architecture) in :meth:`ArrayFile.read`, before any array data is read. Data
is then read into preallocated arrays by reads bounded by those sizes. So a
4 MB zip bomb whose member inflates to 4 GB costs milliseconds, not 4 GB.
"""
import io
import json
import os
import secrets
import zipfile
from contextlib import contextmanager

import numpy as np

from . import _safetensors

FORMAT = "jitnet-model"
VERSION = 1
DESCRIPTION_KEY = "__jitnet__"  # the .npz member (plus ".npy")
METADATA_KEY = "jitnet"  # the safetensors __metadata__ entry
#: A longer description is refused unread (a model's is ~200 characters a layer).
MAX_DESCRIPTION_CHARS = 1 << 20
# Opening inflates up to this much of each member to parse its .npy header
# (NumPy itself refuses headers over 10000 bytes), so the members' count
# bounds the work: 4096 members (a model of 2046 Dense layers), 64 MB at most.
_NPY_HEADER_BYTES = 1 << 14
_MAX_MEMBERS = 1 << 12
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def is_safetensors(path):
    """True if ``path`` names a safetensors file (by its suffix, in any case)."""
    return os.fspath(path).lower().endswith(".safetensors")


def _new_file_beside(path):
    """``(fd, name)`` of a new empty file in ``path``'s folder, for writing.

    Created as ``open(path, "wb")`` would create ``path``: mode 0o666 less
    the umask, or ``path``'s own mode if it exists (``tempfile.mkstemp``
    makes 0o600, and the renamed file kept it: a model saved for others to
    read was readable by its owner only).
    """
    folder = os.path.dirname(os.path.abspath(path))
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".jitnet-{secrets.token_hex(8)}.tmp")
        try:
            fd = os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
        try:
            # Permission bits only, as writing a file clears its set-id bits.
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        except OSError:  # no file yet (or one we may not read): keep the umask's mode
            pass
        return fd, tmp
    raise FileExistsError(f"no free temporary name in {folder!r}")


def atomic_write(path, write):
    """Call ``write(f)`` on a new binary file beside ``path``, then rename it to ``path``.

    On any error the temporary file is removed and ``path`` is left as it was.
    """
    path = os.fspath(path)
    fd, tmp = _new_file_beside(path)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_arrays(path, arrays, description=None):
    """Atomically write ``arrays`` (name -> ndarray) and a JSON ``description`` to ``path``.

    safetensors if ``path`` ends in ``.safetensors``, ``.npz`` otherwise.
    """
    if is_safetensors(path):
        metadata = None if description is None else {METADATA_KEY: json.dumps(description)}
        atomic_write(path, lambda f: _safetensors.write(f, arrays, metadata))
        return
    payload = dict(arrays)
    if description is not None:
        payload[DESCRIPTION_KEY] = np.array(json.dumps(description))
    atomic_write(path, lambda f: np.savez(f, **payload))  # a file object: no ".npz" added


@contextmanager
def _foreign(where, path, kind=None):
    """Turn any error inside into ``ValueError: ... is not a jitnet file``.

    A damaged or hostile archive can fail anywhere in zipfile, zlib or NumPy's
    header parser (fuzzing found NotImplementedError for an unknown compression
    method, RuntimeError for an "encrypted" member): all mean "not a jitnet file".
    """
    try:
        yield
    except Exception as err:  # noqa: BLE001
        raise ValueError(f"{where}: {path!r} is not a jitnet file"
                         f" ({kind or type(err).__name__}: {err})") from None


def _description(text, where, path):
    """The checked description dict from its JSON ``text``."""
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise ValueError(f"{where}: {path!r} has a description of {len(text)} characters,"
                         f" more than the {MAX_DESCRIPTION_CHARS} allowed")
    try:
        description = json.loads(text)
    except (TypeError, ValueError, RecursionError) as err:
        raise ValueError(f"{where}: {path!r} has a damaged description"
                         f" ({err})") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise ValueError(f"{where}: {path!r} is not a jitnet model file")
    if description.get("version") != VERSION:
        raise ValueError(f"{where}: {path!r} has format version"
                         f" {description.get('version')!r}; this jitnet"
                         f" reads version {VERSION}")
    return description


class ArrayFile:
    """An open model file, from :func:`open_arrays`; use it in a ``with`` block.

    Attributes
    ----------
    description : dict or None
        The JSON description of the model (None in a parameters-only file).
    entries : dict of str to (numpy.dtype, tuple)
        Every array's declared dtype and shape, checked against the file's
        sizes; no array data has been read.
    """

    def __init__(self, path, where):
        self.path, self.where = path, where
        self.description, self.entries = None, {}

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def read(self, expected, dtype=None):
        """Check, then read, the arrays named in ``expected``.

        Parameters
        ----------
        expected : dict of str to tuple of int
            The shape each array must have; ``(1, n)`` also accepts ``(n,)``.
        dtype : numpy.dtype, optional
            The dtype each array must have (either byte order); None accepts
            float32 and float64 (the caller converts).

        Returns
        -------
        dict of str to ndarray
            Only after every array was checked is any data read.

        Raises
        ------
        ValueError
            Naming the array, if one is missing or declared otherwise.
        """
        for name, shape in expected.items():
            if name not in self.entries:
                raise ValueError(f"{self.where}: {self.path!r} has no array {name!r}")
            found, found_shape = self.entries[name]
            native = found.newbyteorder("=")
            fits = (found_shape == shape or (len(shape) == 2 and shape[0] == 1
                                             and found_shape == shape[1:]))
            if not fits or (native != dtype if dtype is not None else native not in _FLOATS):
                want = "float32 or float64" if dtype is None else dtype
                raise ValueError(f"{self.where}: {self.path!r} declares array {name!r} as"
                                 f" {found} of shape {found_shape}; this model needs"
                                 f" {want} of shape {shape}")
        return {name: self._read(name) for name in expected}

    def _read(self, name):
        raise NotImplementedError

    def close(self):
        raise NotImplementedError


class _NpzFile(ArrayFile):
    """A ``.npz`` archive: headers and the description read when opened."""

    def __init__(self, path, where):
        super().__init__(path, where)
        self._members = {}  # name -> (ZipInfo, data offset, fortran_order, dtype, shape)
        try:
            with _foreign(where, path):
                self._zip = zipfile.ZipFile(path)
        except ValueError:
            _refuse_pickle(path, where)  # the book's files: say what to do
            raise
        try:
            self._open()
        except BaseException:
            self._zip.close()
            raise

    def _open(self):
        where, path = self.where, self.path
        infos = self._zip.infolist()
        names = [info.filename for info in infos]
        if len(names) > _MAX_MEMBERS:
            raise ValueError(f"{where}: {path!r} is not a jitnet file ({len(names)}"
                             f" members, more than the {_MAX_MEMBERS} allowed)")
        if len(set(names)) != len(names) or not all(n.endswith(".npy") for n in names):
            raise ValueError(f"{where}: {path!r} is not a jitnet file (its members"
                             f" {names[:10]} are not distinct .npy arrays)")
        for info in infos:
            name = info.filename[:-4]
            with _foreign(where, path), self._zip.open(info) as f:
                # A bounded prefix: the header parser never sees the (maybe
                # 4 GB) rest of a member.
                head = io.BytesIO(f.read(min(info.file_size, _NPY_HEADER_BYTES)))
                version = np.lib.format.read_magic(head)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f".npy format version {version}")
                parse = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                         else np.lib.format.read_array_header_2_0)
                shape, fortran, dtype = parse(head)
            if dtype.hasobject:
                raise ValueError(f"{where}: {path!r} is not a jitnet file (array"
                                 f" {name!r} holds Python objects)")
            offset = head.tell()
            nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if info.file_size != offset + nbytes:
                raise ValueError(f"{where}: {path!r}: array {name!r} declares {dtype} of"
                                 f" shape {shape} ({nbytes} bytes) but the zip directory"
                                 f" gives it {info.file_size - offset} bytes")
            self.entries[name] = (dtype, shape)
            self._members[name] = (info, offset, fortran, dtype, shape)
        if DESCRIPTION_KEY in self.entries:
            dtype, shape = self.entries.pop(DESCRIPTION_KEY)
            if dtype.kind != "U" or shape != ():
                raise ValueError(f"{where}: {path!r} has a damaged description"
                                 f" ({dtype} of shape {shape}, not a str)")
            if dtype.itemsize > 4 * MAX_DESCRIPTION_CHARS:
                raise ValueError(f"{where}: {path!r} has a description of"
                                 f" {dtype.itemsize // 4} characters, more than the"
                                 f" {MAX_DESCRIPTION_CHARS} allowed")
            self.description = _description(str(self._read(DESCRIPTION_KEY)[()]),
                                            where, path)

    def _read(self, name):
        info, offset, fortran, dtype, shape = self._members[name]
        with _foreign(self.where, self.path), self._zip.open(info) as f:
            f.read(offset)
            array = np.empty(shape[::-1] if fortran else shape, dtype)
            _safetensors.read_into(f, array)
            if f.read(1):  # reading on to the end also checks the member's CRC
                raise ValueError(f"array {name!r} has more data than it declares")
        return array.T if fortran else array

    def close(self):
        self._zip.close()


class _SafetensorsFile(ArrayFile):
    """A safetensors file: its header checked and read when opened."""

    def __init__(self, path, where):
        super().__init__(path, where)
        self._file = open(path, "rb")
        try:
            with _foreign(where, path, "safetensors"):
                size = os.fstat(self._file.fileno()).st_size
                metadata, self._tensors, self._start = _safetensors.read_header(
                    self._file, size)
            self.entries = {name: (t.dtype, t.shape) for name, t in self._tensors.items()}
            if METADATA_KEY in metadata:
                self.description = _description(metadata[METADATA_KEY], where, path)
        except BaseException:
            self._file.close()
            raise

    def _read(self, name):
        with _foreign(self.where, self.path, "safetensors"):
            return _safetensors.read_tensor(self._file, self._start, self._tensors[name])

    def close(self):
        self._file.close()


def open_arrays(path, where):
    """Open the model file at ``path`` (safetensors or npz, by suffix) for reading.

    Returns
    -------
    ArrayFile
        With ``description`` and ``entries`` checked; read arrays with its
        ``read(expected)``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable, pickle-free jitnet file; the message
        names ``where`` (the public function), the file and the array.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no file at {path!r}")
    if not os.path.isfile(path):
        raise ValueError(f"{where}: {path!r} is not a file")
    return (_SafetensorsFile if is_safetensors(path) else _NpzFile)(path, where)


def _refuse_pickle(path, where):
    """Raise a ``ValueError`` that says what to do if ``path`` (not a zip) is a pickle.

    The book's ``save`` and ``save_parameters`` pickle; jitnet never unpickles
    (loading a pickle can run any code), but the book's parameters are plain
    arrays a user who trusts the file can load and pass on.
    """
    with open(path, "rb") as f:
        head = f.read(2)
    # Pickle protocols 2-5 start with PROTO (0x80) and the protocol's number.
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        raise ValueError(
            f"{where}: {path!r} is not a jitnet file but a Python pickle (the"
            " book's format). jitnet does not unpickle files, since that can"
            " run any code. If you trust the file and it holds the book's"
            " saved parameters, load them yourself:"
            " model.set_parameters(pickle.load(open(path, 'rb'))); a model"
            " the book's Model.save pickled cannot be read.")
