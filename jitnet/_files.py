"""Model files that cannot run code: ``.npz`` arrays plus a JSON description.

Files are written to a temporary file beside the target and renamed over it,
so a crash never leaves half a model. Reading uses ``allow_pickle=False``: a
pickle, a truncated archive or a foreign file raises ``ValueError``.
"""
import json
import os
import tempfile

import numpy as np

FORMAT = "jitnet-model"
VERSION = 1
DESCRIPTION_KEY = "__jitnet__"


def write_npz(path, arrays, description=None):
    """Atomically write ``arrays`` (and a JSON ``description``) to ``path``."""
    path = os.fspath(path)
    payload = dict(arrays)
    if description is not None:
        payload[DESCRIPTION_KEY] = np.array(json.dumps(description))
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".jitnet-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **payload)  # a file object: no ".npz" appended
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_npz(path, where):
    """Return ``(arrays, description)`` from a file written by :func:`write_npz`.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a readable, pickle-free ``.npz`` archive.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{where}: no file at {path!r}")
    try:
        data = np.load(path, allow_pickle=False)
        if not hasattr(data, "files"):
            raise ValueError("it holds a bare array, not an .npz archive")
        with data:
            arrays = {name: data[name] for name in data.files}
    except Exception as err:  # noqa: BLE001
        # A damaged or hostile archive can fail anywhere in zipfile, zlib or
        # NumPy's header parser (fuzzing found NotImplementedError for an
        # unknown compression method, RuntimeError for an "encrypted" member):
        # all of them mean "not a jitnet file".
        raise ValueError(f"{where}: {path!r} is not a jitnet file"
                         f" ({type(err).__name__}: {err})") from None
    description = None
    if DESCRIPTION_KEY in arrays:
        raw = arrays.pop(DESCRIPTION_KEY)
        try:
            description = json.loads(str(raw))
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: {path!r} has a damaged description"
                             f" ({err})") from None
        if not isinstance(description, dict) or description.get("format") != FORMAT:
            raise ValueError(f"{where}: {path!r} is not a jitnet model file")
        if description.get("version") != VERSION:
            raise ValueError(f"{where}: {path!r} has format version"
                             f" {description.get('version')!r}; this jitnet"
                             f" reads version {VERSION}")
    return arrays, description
