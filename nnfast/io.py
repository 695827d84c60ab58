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

import numpy as np

FORMAT = "nnfast"
FORMAT_VERSION = 1
_KINDS = {}  # kind name -> class with _from_file(header, arrays)

#: The JSON header's largest size and deepest nesting (a model's header is a few KB, with
#: a CSV model's category names a few MB; lists and objects nest 4 deep).
MAX_HEADER_BYTES = 64 * 2**20
MAX_HEADER_DEPTH = 32
#: Most members in a model file (a model writes at most 8).
MAX_MEMBERS = 64
#: A compressed member may expand at most this much (nnfast writes uncompressed files).
MAX_EXPANSION = 200


def register(cls):
    """Class decorator: make ``cls`` (with ``_to_file`` / ``_from_file``) loadable."""
    _KINDS[cls.__name__] = cls
    return cls


# --- paths ---------------------------------------------------------------------------------------

def _path(path, action):
    """``path`` as a str; TypeError or ValueError for what cannot name a file."""
    try:
        name = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a str or an os.PathLike (pathlib.Path), got "
                        f"{type(path).__name__}: {path!r}.") from None
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not name:
        raise ValueError(f"cannot {action}: the path is empty.")
    if "\0" in name:
        raise ValueError(f"cannot {action} {name!r}: the path contains a NUL character.")
    return name


def _os_error(exc, path, action):
    """``exc`` (an OSError) with a message that names the user's ``path``, never a temporary
    file's, and says what was being done."""
    text = exc.strerror or str(exc)
    return type(exc)(exc.errno, f"cannot {action} {path}: {text}", path)


_KIND_OF_FILE = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                 (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                 (stat.S_ISSOCK, "a socket"))


def _not_regular(mode):
    for test, what in _KIND_OF_FILE:
        if test(mode):
            return what
    return "not a regular file"


# --- save ------------------------------------------------------------------------------------------

def save(model, path):
    """Write ``model`` to ``path`` (``.npz``) atomically; returns the path.

    A symbolic link is followed (the file it points to is replaced, the link stays). An
    existing target that is not a regular file, or is not writable, is refused before
    anything is written; so is a model whose file would not load back (non-finite
    parameters, say). OS errors name ``path``.
    """
    from . import __version__

    path = _path(path, "save the model to")
    header, arrays = model._to_file()
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "nnfast_version": __version__,
              "kind": type(model).__name__, **header}
    try:
        text = json.dumps(header, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"cannot save the model to {path}: its header cannot be written as "
                         f"JSON ({exc}).") from None
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
            np.savez(f, header=np.frombuffer(text.encode(), dtype=np.uint8), **arrays)
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


def _stored_dtype(value):
    """float32 arrays stay float32 (half the file, and exact); everything else is float64."""
    return np.float32 if getattr(value, "dtype", None) == np.float32 else np.float64


def _save_target(path):
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
            raise IsADirectoryError(errno.EISDIR, f"cannot save the model to {path}: it is a "
                                    f"directory (give a file name, such as model.npz)", path)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"cannot save the model to {path}: it exists and is "
                             f"{_not_regular(st.st_mode)}, not a regular file; nothing was "
                             f"written.")
        if not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, f"cannot save the model to {path}: the "
                                  f"existing file is not writable", path)
    directory = os.path.dirname(os.path.abspath(target))
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise NotADirectoryError(errno.ENOTDIR, f"cannot save the model to {path}: "
                                 f"{directory} is not a directory", path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(errno.ENOENT, f"cannot save the model to {path}: there is no "
                                f"directory {directory}", path)
    return target


def _check_loads_back(kind, text, arrays, path):
    """Refuse to write what ``load`` would refuse, before the target is touched."""
    try:
        _build(kind, json.loads(text), {k: v.copy() for k, v in arrays.items()}, path)
    except ValueError as exc:
        raise ValueError(f"cannot save the model to {path}: the file would not load back "
                         f"({exc}). Nothing was written.") from None


def _remove(tmp):
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# --- load ------------------------------------------------------------------------------------------

def load(path):
    """Load a model written by ``save`` (any kind: Network, estimators, ...).

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
        raise IsADirectoryError(errno.EISDIR, f"cannot load a model from {path}: it is a "
                                f"directory", path)
    if not stat.S_ISREG(st.st_mode):  # a FIFO would block, /dev/zero never end
        raise ValueError(f"{path} is not a readable nnfast model file (it is "
                         f"{_not_regular(st.st_mode)}, not a regular file).")
    try:
        return _load(path)
    except (RecursionError, MemoryError) as exc:  # a last line of defence
        raise ValueError(f"{path} is not a readable nnfast model file ({type(exc).__name__} "
                         f"while reading it).") from None


def _load(path):
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise _os_error(exc, path, "load a model from") from None
    if not head.startswith(b"PK\x03\x04") and not head.startswith(b"PK\x05\x06"):
        raise ValueError(f"{path} is not a readable nnfast model file ({_sniff(head)}).")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = _members(archive, path)
            shapes = {name: _npy_header(archive, info, path) for name, info in infos.items()}
            if "header" not in shapes:
                raise ValueError(f"{path} is not an nnfast model file: it has no header.")
            header = _read_header(archive, infos["header"], shapes["header"], path)
            kind = header["kind"]
            for name, (shape, dtype) in shapes.items():
                if name != "header" and dtype.kind != "f":
                    raise ValueError(f"{path}: array {name!r} has dtype {dtype}; model files "
                                     f"hold real floating-point arrays only.")
            expected = getattr(_KINDS[kind], "_file_shapes", None)
            if expected is not None:
                _check_shapes(path, kind, header, shapes, expected)
            arrays = {name: _read_array(archive, infos[name], path)
                      for name in shapes if name != "header"}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
            NotImplementedError, RuntimeError, KeyError, struct_error()) as exc:
        raise ValueError(f"{path} is not a readable nnfast model file (a truncated or damaged "
                         f"archive: {type(exc).__name__}: {exc}).") from None
    return _build(kind, header, arrays, path)


def struct_error():
    import struct

    return struct.error


def _sniff(head):
    """What a file that is not a zip archive looks like, from its first bytes."""
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return ("it is a plain .npy array file; nnfast model files are .npz archives written "
                "by save()")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "it looks like a JSON text file, not a .npz archive written by save()"
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return "it is a Python pickle, which nnfast never loads"
    return f"it is not a .npz archive: it starts with {head[:8]!r}"


def _members(archive, path):
    """{array name: ZipInfo} after checking the zip directory: few members, .npy names,
    no duplicates, sizes that fit in memory, no member expanding like a zip bomb."""
    from ._validation import format_bytes, memory_limit

    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(f"{path} is not an nnfast model file: it has {len(infos)} members "
                         f"(model files have at most {MAX_MEMBERS}).")
    members, total = {}, 0
    for info in infos:
        if not info.filename.endswith(".npy") or info.is_dir():
            raise ValueError(f"{path} is not an nnfast model file: member {info.filename!r} "
                             f"is not a .npy array.")
        name = info.filename[:-4]
        if name in members:
            raise ValueError(f"{path} has the member {info.filename!r} twice.")
        if info.compress_type != zipfile.ZIP_STORED and info.file_size > 2**20 and \
                info.file_size > MAX_EXPANSION * max(info.compress_size, 1):
            raise ValueError(f"{path}: member {info.filename!r} would expand from "
                             f"{info.compress_size} to {info.file_size} bytes; nnfast does "
                             f"not read such archives.")
        members[name] = info
        total += info.file_size
    limit = memory_limit()
    if limit is not None and total > limit:
        raise ValueError(f"{path}: its arrays would need {format_bytes(total)} of memory, more "
                         f"than this machine has ({format_bytes(limit)}).")
    return members


def _npy_header(archive, info, path):
    """(shape, dtype) of a member from its .npy header, which must agree with the member's
    size in the zip directory."""
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                    else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read(f, max_header_size=2**16)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
            raise
        except Exception as exc:  # numpy's parser of an untrusted header: tokenize, ast...
            raise ValueError(f"{path} is not a readable nnfast model file (member "
                             f"{info.filename!r} is not a .npy array: {exc}).") from None
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(f"{path} is not a readable nnfast model file (member "
                         f"{info.filename!r} holds pickled objects, which nnfast never "
                         f"loads).")
    size = offset + dtype.itemsize * int(np.prod(shape, dtype=object))
    if size != info.file_size:
        raise ValueError(f"{path} is not a readable nnfast model file (member "
                         f"{info.filename!r} claims shape {shape}, {size} bytes, but the "
                         f"archive holds {info.file_size}).")
    return tuple(int(n) for n in shape), dtype


def _read_header(archive, info, shape_dtype, path):
    shape, dtype = shape_dtype
    if dtype != np.uint8 or len(shape) != 1:
        raise ValueError(f"{path} is not an nnfast model file: it has no header.")
    if shape[0] > MAX_HEADER_BYTES:
        raise ValueError(f"{path} is not an nnfast model file: its header has {shape[0]} "
                         f"bytes (at most {MAX_HEADER_BYTES}).")
    raw = _read_array(archive, info, path).tobytes()
    try:
        text = raw.decode()
        depth = _nesting(text)
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
    if not isinstance(kind, str) or kind not in _KINDS:
        raise ValueError(f"{path} holds an unknown model kind {kind!r}; known: {sorted(_KINDS)}.")
    return header


def _nesting(text):
    """How deep JSON ``text`` nests lists and objects (strings skipped), in one pass."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _check_shapes(path, kind, header, shapes, expected):
    """Compare the arrays' shapes (from their .npy headers) with what the model header says
    they must be, before reading them; ``expected(header)`` maps names to shapes (None: any
    length) and may raise for a header that describes no valid model."""
    try:
        wanted = expected(header)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ValueError(f"{path} has an inconsistent {kind} header or data ({exc}).") from None
    for name, shape in wanted.items():
        if name not in shapes:
            continue  # missing arrays are reported by the model's own check
        got = shapes[name][0]
        if len(got) != len(shape) or any(w is not None and w != g for w, g in zip(shape, got)):
            raise ValueError(f"{path} has an inconsistent {kind} header or data ({name} has "
                             f"shape {got}, the header needs {tuple(shape)}).")


def _read_array(archive, info, path):
    with archive.open(info) as f:
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except ValueError as exc:  # short data, a pickle, ...
            reason = "it holds pickled objects, which nnfast never loads" if "pickle" in \
                str(exc) else f"member {info.filename!r}: {exc}"
            raise ValueError(f"{path} is not a readable nnfast model file ({reason}).") from None


def _build(kind, header, arrays, path):
    """The model of ``kind`` from a parsed header and its arrays (ValueError naming
    ``path`` for anything inconsistent or not finite)."""
    for name, array in arrays.items():
        if array.dtype.kind != "f":
            raise ValueError(f"{path}: array {name!r} has dtype {array.dtype}; model files hold "
                             "real floating-point arrays only.")
    try:
        return _KINDS[kind]._from_file(header, arrays)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as exc:
        raise ValueError(f"{path} has an inconsistent {kind} header or data ({exc}).") from None
