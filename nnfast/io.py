"""Model files: one ``.npz`` holding a JSON header and plain float64 arrays, never a pickle.

``save`` writes to a temporary file in the target directory and renames it into place, so
a crash mid-save never leaves a truncated model behind. ``load`` opens the file with
``allow_pickle=False`` and checks the header before building anything.
"""
from __future__ import annotations

import json
import os
import tempfile

import numpy as np

FORMAT = "nnfast"
FORMAT_VERSION = 1
_KINDS = {}  # kind name -> class with _from_file(header, arrays)


def register(cls):
    """Class decorator: make ``cls`` (with ``_to_file`` / ``_from_file``) loadable."""
    _KINDS[cls.__name__] = cls
    return cls


def save(model, path):
    """Write ``model`` to ``path`` (``.npz``) atomically; returns the path."""
    from . import __version__

    header, arrays = model._to_file()
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "nnfast_version": __version__,
              "kind": type(model).__name__, **header}
    text = json.dumps(header, allow_nan=True)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".nnfast-", suffix=".npz.tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, header=np.frombuffer(text.encode(), dtype=np.uint8),
                     **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a model file is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def load(path):
    """Load a model written by ``save`` (any kind: Network, estimators, ...).

    Anything but a well-formed model file (not a zip, a damaged or unsupported zip member,
    a plain .npy, pickled objects, non-float arrays, a header that does not describe the
    arrays) raises ValueError naming the file; a missing file raises FileNotFoundError.
    """
    arrays = _read_arrays(path)
    header_bytes = arrays.pop("header", None)
    if header_bytes is None or header_bytes.dtype != np.uint8 or header_bytes.ndim != 1:
        raise ValueError(f"{path} is not an nnfast model file: it has no header.")
    try:
        header = json.loads(header_bytes.tobytes().decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} has a corrupted header ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not an nnfast model file.")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has model format version {header.get('format_version')!r}; this nnfast "
            f"reads version {FORMAT_VERSION}."
        )
    kind = header.get("kind")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"{path} holds an unknown model kind {kind!r}; known: {sorted(_KINDS)}.")
    for name, array in arrays.items():
        if array.dtype.kind != "f":
            raise ValueError(f"{path}: array {name!r} has dtype {array.dtype}; model files hold "
                             "real floating-point arrays only.")
    try:
        return _KINDS[kind]._from_file(header, arrays)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValueError(f"{path} has an inconsistent {kind} header or data ({exc}).") from None


def _read_arrays(path):
    """Every array of an .npz file, or ValueError: never a zipfile/zlib/pickle traceback."""
    try:
        with np.load(os.fspath(path), allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            arrays = {k: data[k] for k in data.files}
        if not all(isinstance(a, np.ndarray) for a in arrays.values()):
            raise ValueError("a member is not an .npy array")  # NumPy returns raw bytes then
        return arrays
    except FileNotFoundError:
        raise
    except Exception as exc:  # a damaged file can fail in zipfile, zlib, the npy parser...
        # NumPy's own message may suggest allow_pickle=True: never pass that advice on.
        reason = "it holds pickled objects, which nnfast never loads" if "pickle" in str(exc) \
            else f"{type(exc).__name__}: {exc}"
        raise ValueError(f"{path} is not a readable nnfast model file ({reason}).") from None
