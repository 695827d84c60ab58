"""Model files: one ``.npz`` holding a JSON header and plain float arrays, never a pickle.

Arrays are written in their model's precision (float64, or float32 for a float32 model,
which the header names); anything else is written as float64.

``save`` writes to a temporary file in the target directory and renames it into place, so
a crash mid-save never leaves a truncated model behind; it refuses a model that would not
load back, and a target that exists but is not a regular file (a directory, a device, a
FIFO, a socket), before touching anything. ``load`` reads the zip directory and every
array's ``.npy`` header first: sizes that disagree with the directory or with the model
header, a header too large or too deeply nested, members that are not float arrays, are
refused before any array data is decompressed.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
import zipfile
import zlib
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ._archive import (
    MAX_HEADER_BYTES,
    MAX_HEADER_DEPTH,
    check_shapes,
    describe_non_zip,
    members,
    nesting_depth,
    npy_header,
    read_array,
    struct_error,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Protocol, TypedDict, TypeVar, Union

    from _typeshed import StrOrBytesPath
    from numpy.typing import ArrayLike, NDArray

    from ._archive import ArrayHeader
    from ._compat import BaseEstimator
    from ._encoding import TabularModel
    from ._typing import FloatArray
    from .estimators import MLPClassifier, MLPRegressor
    from .linear import LogisticRegression
    from .network import Network
    from .perceptron import Perceptron

    #: What a model file holds (``KINDS``), as ``load`` returns it.
    Model = Union[
        Network, TabularModel, MLPClassifier, MLPRegressor, LogisticRegression, Perceptron
    ]
    #: A value JSON holds.
    JSON = Union[None, bool, int, float, str, list["JSON"], dict[str, "JSON"]]
    E = TypeVar("E", bound=BaseEstimator)

    class _Savable(Protocol):
        """What ``save`` calls on a model: its header (JSON) and arrays."""

        def _to_file(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...

    class Classes(TypedDict):
        """Class labels in a file header (``encode_classes``)."""

        dtype: str
        values: list[bool | int | float | str]


FORMAT = "nnfast"
FORMAT_VERSION = 1
#: kind (the class name a file records) -> the module defining it, imported when a file of
#: that kind is read: reading a Network file never imports the estimators (nor scikit-learn).
KINDS = {
    "Network": "network",
    "TabularModel": "_encoding",
    "MLPClassifier": "estimators",
    "MLPRegressor": "estimators",
    "LogisticRegression": "linear",
    "Perceptron": "perceptron",
}


def _model_class(kind: str) -> type[Model]:
    """The class of a model ``kind`` (it has ``_from_file(header, arrays)``)."""
    import importlib

    return getattr(importlib.import_module(f"{__package__}.{KINDS[kind]}"), kind)


# --- paths ----------------------------------------------------------------------------------------


def _path(path: StrOrBytesPath, action: str) -> str:
    """``path`` as a str; TypeError or ValueError for what cannot name a file."""
    try:
        name = os.fspath(path)
    except TypeError:
        raise TypeError(
            f"path must be a str or an os.PathLike (pathlib.Path), got "
            f"{type(path).__name__}: {path!r}."
        ) from None
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not name:
        raise ValueError(f"cannot {action}: the path is empty.")
    if "\0" in name:
        raise ValueError(f"cannot {action} {name!r}: the path contains a NUL character.")
    return name


def _os_error(exc: OSError, path: str, action: str) -> OSError:
    """``exc`` (an OSError) with a message that names the user's ``path``, never a temporary
    file's, and says what was being done."""
    text = exc.strerror or str(exc)
    return type(exc)(exc.errno, f"cannot {action} {path}: {text}", path)


_KIND_OF_FILE: tuple[tuple[Callable[[int], bool], str], ...] = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)


def _not_regular(mode: int) -> str:
    for test, what in _KIND_OF_FILE:
        if test(mode):
            return what
    return "not a regular file"


# --- save -----------------------------------------------------------------------------------------


def save(model: object, path: StrOrBytesPath) -> str:
    """Write ``model`` to ``path`` (``.npz``) atomically; returns the path (a str).

    A symbolic link is followed (the file it points to is replaced, the link stays). An
    existing target that is not a regular file, or is not writable, is refused before
    anything is written; so is a model whose file would not load back (non-finite
    parameters, say). OS errors name ``path``.
    """
    from . import __version__

    path = _path(path, "save the model to")
    # object: the estimators' shared save() passes a mixin, which the checker cannot see
    # as a model; every class of KINDS has _to_file.
    header, arrays = cast("_Savable", model)._to_file()
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "nnfast_version": __version__,
        "kind": type(model).__name__,
        **header,
    }
    try:
        text = json.dumps(header, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"cannot save the model to {path}: its header cannot be written as JSON ({exc})."
        ) from None
    arrays = {k: np.ascontiguousarray(v, dtype=_stored_dtype(v)) for k, v in arrays.items()}
    _check_loads_back(header["kind"], text, arrays, path)
    target = _save_target(path)
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".nnfast-", suffix=".npz.tmp", dir=directory)
    except OSError as exc:
        raise _os_error(exc, path, "save the model to") from None
    try:
        with os.fdopen(fd, "wb") as f:
            # savez's stubs check **kwds against its allow_pickle flag: no member is named so
            members = cast("dict[str, Any]", arrays)
            np.savez(f, header=np.frombuffer(text.encode(), dtype=np.uint8), **members)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a model file is an ordinary file
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise _os_error(exc, path, "save the model to") from None
    except BaseException:
        _remove(tmp)
        raise
    return path


def _stored_dtype(value: object) -> type[np.floating[Any]]:
    """float32 arrays stay float32 (half the file, and exact); everything else is float64."""
    return np.float32 if getattr(value, "dtype", None) == np.float32 else np.float64


def _save_target(path: str) -> str:
    """The file ``save`` replaces: ``path``, or what a symbolic link at ``path`` points to;
    refused (nothing touched) when it exists but is not a writable regular file, or when its
    directory does not exist."""
    target = os.path.realpath(path) if os.path.islink(path) else path
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a loop of links, a path through a file, ...
        raise _os_error(exc, path, "save the model to") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(
                errno.EISDIR,
                f"cannot save the model to {path}: it is a "
                f"directory (give a file name, such as model.npz)",
                path,
            )
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(
                f"cannot save the model to {path}: it exists and is "
                f"{_not_regular(st.st_mode)}, not a regular file; nothing was "
                f"written."
            )
        if not os.access(target, os.W_OK):
            raise PermissionError(
                errno.EACCES,
                f"cannot save the model to {path}: the existing file is not writable",
                path,
            )
    directory = os.path.dirname(os.path.abspath(target))
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(
            errno.ENOTDIR, f"cannot save the model to {path}: {directory} is not a directory", path
        )
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            errno.ENOENT,
            f"cannot save the model to {path}: there is no directory {directory}",
            path,
        )
    return target


def _check_loads_back(kind: str, text: str, arrays: Mapping[str, np.ndarray], path: str) -> None:
    """Refuse to write what ``load`` would refuse, before the target is touched."""
    try:
        _build(kind, json.loads(text), {k: v.copy() for k, v in arrays.items()}, path)
    except ValueError as exc:
        raise ValueError(
            f"cannot save the model to {path}: the file would not load back "
            f"({exc}). Nothing was written."
        ) from None


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --- load -----------------------------------------------------------------------------------------


# Any, as pickle.load: which model comes back depends on the file. The union (Model) would
# make every caller narrow, and isinstance cannot narrow it: the estimators' scikit-learn
# bases are untyped, so the checker keeps them as possible subclasses of every other kind.
def load(path: StrOrBytesPath) -> Any:
    """Load a model written by ``save``: a Network, an estimator (MLPClassifier,
    MLPRegressor, LogisticRegression, Perceptron) or the TabularModel that ``nnfast train
    --save`` writes.

    Anything but a well-formed model file (not a zip, a damaged or unsupported zip member,
    a plain .npy, JSON, pickled objects, non-float arrays, a header that does not describe the
    arrays, non-finite values) raises ValueError naming the file; a missing file raises
    FileNotFoundError, a directory IsADirectoryError. Sizes are checked against the zip
    directory before anything is decompressed, so a small file cannot make ``load`` allocate
    what its header claims.
    """
    path = _path(path, "load a model from")
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _os_error(exc, path, "load a model from") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(
            errno.EISDIR, f"cannot load a model from {path}: it is a directory", path
        )
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block, /dev/zero never end
        raise ValueError(
            f"{path} is not a readable nnfast model file (it is "
            f"{_not_regular(st.st_mode)}, not a regular file)."
        )
    try:
        return _load(path)
    except (RecursionError, MemoryError) as exc:  # a last line of defence
        raise ValueError(
            f"{path} is not a readable nnfast model file ({type(exc).__name__} while reading it)."
        ) from None


def _load(path: str) -> Model:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise _os_error(exc, path, "load a model from") from None
    if not head.startswith(b"PK\x03\x04") and not head.startswith(b"PK\x05\x06"):
        raise ValueError(f"{path} is not a readable nnfast model file ({describe_non_zip(head)}).")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = members(archive, path)
            shapes = {name: npy_header(archive, info, path) for name, info in infos.items()}
            if "header" not in shapes:
                raise ValueError(f"{path} is not an nnfast model file: it has no header.")
            header = _read_header(archive, infos["header"], shapes["header"], path)
            kind = header["kind"]
            for name, (_, dtype) in shapes.items():
                if name != "header" and dtype.kind != "f":
                    raise ValueError(
                        f"{path}: array {name!r} has dtype {dtype}; model files "
                        f"hold real floating-point arrays only."
                    )
            expected = getattr(_model_class(kind), "_file_shapes", None)
            if expected is not None:
                check_shapes(path, kind, header, shapes, expected)
            arrays = {
                name: read_array(archive, infos[name], path) for name in shapes if name != "header"
            }
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        OSError,
        NotImplementedError,
        RuntimeError,
        KeyError,
        struct_error(),
    ) as exc:
        raise ValueError(
            f"{path} is not a readable nnfast model file (a truncated or damaged "
            f"archive: {type(exc).__name__}: {exc})."
        ) from None
    return _build(kind, header, arrays, path)


def _read_header(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape_dtype: ArrayHeader, path: str
) -> dict[str, Any]:
    shape, dtype = shape_dtype
    if dtype != np.uint8 or len(shape) != 1:
        raise ValueError(f"{path} is not an nnfast model file: it has no header.")
    if shape[0] > MAX_HEADER_BYTES:
        raise ValueError(
            f"{path} is not an nnfast model file: its header has {shape[0]} "
            f"bytes (at most {MAX_HEADER_BYTES})."
        )
    raw = read_array(archive, info, path).tobytes()
    try:
        text = raw.decode()
        depth = nesting_depth(text)
        if depth > MAX_HEADER_DEPTH:
            raise ValueError(f"it nests {depth} levels deep, at most {MAX_HEADER_DEPTH}")
        header = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{path} has a corrupted header ({exc}).") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not an nnfast model file.")
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has model format version {header.get('format_version')!r}; this nnfast "
            f"reads version {FORMAT_VERSION}."
        )
    kind = header.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"{path} holds an unknown model kind {kind!r}; known: {sorted(KINDS)}.")
    return header


def _build(
    kind: str, header: Mapping[str, Any], arrays: Mapping[str, NDArray[Any]], path: str
) -> Model:
    """The model of ``kind`` from a parsed header and its arrays (ValueError naming
    ``path`` for anything inconsistent or not finite)."""
    for name, array in arrays.items():
        if array.dtype.kind != "f":
            raise ValueError(
                f"{path}: array {name!r} has dtype {array.dtype}; model files hold "
                "real floating-point arrays only."
            )
    try:
        return _model_class(kind)._from_file(header, arrays)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        raise ValueError(f"{path} has an inconsistent {kind} header or data ({exc}).") from None


# --- the models' headers: hyperparameters and labels as JSON --------------------------------------


def encode_value(value: object) -> JSON:
    """A hyperparameter as JSON, with tuples and dicts tagged so they come back as they were.

    Raises TypeError for what JSON cannot hold faithfully (callers replace such values).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, tuple):
        return {"__tuple__": [encode_value(v) for v in value]}
    if isinstance(value, list):
        return [encode_value(v) for v in value]
    if isinstance(value, dict):
        return {"__dict__": [[encode_value(k), encode_value(v)] for k, v in value.items()]}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return {"__tuple__": [encode_value(v) for v in value.tolist()]}
    raise TypeError(f"cannot store {value!r} in a model file")


def decode_value(value: JSON) -> object:
    if isinstance(value, list):
        return [decode_value(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"__tuple__"} and isinstance(value["__tuple__"], list):
            return tuple(decode_value(v) for v in value["__tuple__"])
        if set(value) == {"__dict__"} and isinstance(value["__dict__"], list):
            out = {}
            for pair in value["__dict__"]:
                if not isinstance(pair, list) or len(pair) != 2:
                    raise ValueError(f"bad dict entry {pair!r}")
                key = decode_value(pair[0])
                out[tuple(key) if isinstance(key, list) else key] = decode_value(pair[1])
            return out
        raise ValueError(f"unexpected object {value!r} in the parameters")
    return value


def params_header(estimator: BaseEstimator) -> dict[str, Any]:
    """{"params": ..., "unsaved_params": [...]}: ``get_params(deep=False)`` as JSON; values
    JSON cannot hold (a Generator as random_state) are stored as None and listed."""
    params, unsaved = {}, []
    for key, value in estimator.get_params(deep=False).items():
        try:
            params[key] = encode_value(value)
            json.dumps(params[key], allow_nan=True)
        except (TypeError, ValueError):
            params[key] = None
            unsaved.append(key)
    return {"params": params, "unsaved_params": unsaved}


def estimator_from_header(cls: type[E], header: Mapping[str, Any]) -> E:
    """``cls(**params)`` from a header written by ``params_header``; the names must match."""
    params = header["params"]
    if not isinstance(params, dict):
        raise ValueError("params must be a JSON object")
    expected = set(cls._get_param_names())
    # parameters added since files were first written: absent from older files (defaults)
    later = set(getattr(cls, "_later_params", ()))
    if set(params) - expected or expected - set(params) - later:
        raise ValueError(
            f"params {sorted(params)} do not match {cls.__name__}'s parameters {sorted(expected)}"
        )
    return cls(**{k: decode_value(v) for k, v in params.items()})


_LABEL_KINDS = "biufUS"


def encode_classes(classes: ArrayLike) -> Classes:
    classes = np.asarray(classes)
    if classes.dtype.kind == "O":
        values = classes.tolist()
        if not all(isinstance(v, (str, bool, int, float)) for v in values):
            raise TypeError(
                "class labels of mixed Python objects cannot be stored in a model "
                "file; use numbers or strings."
            )
        return {"dtype": "object", "values": values}
    if classes.dtype.kind not in _LABEL_KINDS:
        raise TypeError(
            f"class labels of dtype {classes.dtype} cannot be stored in a model "
            "file; use numbers or strings."
        )
    values = classes.tolist()
    if classes.dtype.kind == "S":
        values = [v.decode("latin-1") for v in values]
    return {"dtype": classes.dtype.str, "values": values}


def decode_classes(entry: object) -> NDArray[Any]:
    if not isinstance(entry, dict) or not isinstance(entry.get("values"), list):
        raise ValueError("classes must be {'dtype': ..., 'values': [...]}")
    values = entry["values"]
    if entry["dtype"] == "object":
        if not all(isinstance(v, (str, bool, int, float)) for v in values):
            raise ValueError("object class labels must be numbers or strings")
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    dtype = np.dtype(entry["dtype"])
    if dtype.kind not in _LABEL_KINDS:
        raise ValueError(f"class labels of dtype {dtype} are not allowed")
    if dtype.kind == "S":
        values = [v.encode("latin-1") for v in values]
    out = np.asarray(values, dtype=dtype)
    if out.ndim != 1 or len(np.unique(out)) != out.size:
        raise ValueError("classes must be distinct labels")
    return out


def float_array(
    arrays: Mapping[str, ArrayLike],
    key: str,
    shape: Sequence[int | None] | None = None,
    name: str | None = None,
    finite: bool = True,
) -> FloatArray:
    """``arrays[key]`` as float64 with ``shape`` (a None entry matches any length), finite
    unless ``finite=False`` (records of a run, such as a loss curve, may hold the NaN of a
    diverged epoch; what computes predictions may not)."""
    arr = np.asarray(arrays[key], dtype=np.float64)
    if shape is not None and (
        arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape))
    ):
        raise ValueError(f"{name or key} has shape {arr.shape}, expected {tuple(shape)}")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name or key} holds NaN or infinity")
    return np.ascontiguousarray(arr)


def classic_header(model: Perceptron | LogisticRegression) -> dict[str, Any]:
    """The file header of Perceptron / LogisticRegression: the parameters and, once fitted,
    the classes, feature count and iteration count."""
    header = params_header(model)
    header["fitted"] = model._is_fitted()
    if header["fitted"]:
        header.update(
            {
                "classes": encode_classes(model.classes_),
                "n_features_in": int(model.n_features_in_),
                "n_iter": int(model.n_iter_),
            }
        )
    return header
