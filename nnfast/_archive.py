"""Reading a model file that may not be one: a zip directory and ``.npy`` headers checked
before any array data is decompressed, so that a small file cannot make ``load`` allocate
what it claims, nor a crafted one exhaust the memory or the stack."""

from __future__ import annotations

import zipfile
import zlib
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ._validation import format_bytes, memory_limit

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    #: A member's (shape, dtype), from its .npy header.
    ArrayHeader = tuple[tuple[int, ...], np.dtype[Any]]

#: The JSON header's largest size and deepest nesting (a model's header is a few KB, with
#: a CSV model's category names a few MB; lists and objects nest 4 deep).
MAX_HEADER_BYTES = 64 * 2**20
MAX_HEADER_DEPTH = 32
#: Most members in a model file (a model writes at most 8).
MAX_MEMBERS = 64
#: A compressed member may expand at most this much (nnfast writes uncompressed files).
MAX_EXPANSION = 200


def struct_error() -> type[Exception]:
    import struct

    return struct.error


def describe_non_zip(head: bytes) -> str:
    """What a file that is not a zip archive looks like, from its first bytes."""
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return (
            "it is a plain .npy array file; nnfast model files are .npz archives written by save()"
        )
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        return "it looks like a JSON text file, not a .npz archive written by save()"
    if head[:1] == b"\x80" and 2 <= head[1] <= 5:
        return "it is a Python pickle, which nnfast never loads"
    return f"it is not a .npz archive: it starts with {head[:8]!r}"


def members(archive: zipfile.ZipFile, path: str) -> dict[str, zipfile.ZipInfo]:
    """{array name: ZipInfo} after checking the zip directory: few members, .npy names,
    no duplicates, sizes that fit in memory, no member expanding like a zip bomb."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise ValueError(
            f"{path} is not an nnfast model file: it has {len(infos)} members "
            f"(model files have at most {MAX_MEMBERS})."
        )
    members: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if not info.filename.endswith(".npy") or info.is_dir():
            raise ValueError(
                f"{path} is not an nnfast model file: member {info.filename!r} is not a .npy array."
            )
        name = info.filename[:-4]
        if name in members:
            raise ValueError(f"{path} has the member {info.filename!r} twice.")
        if (
            info.compress_type != zipfile.ZIP_STORED
            and info.file_size > 2**20
            and info.file_size > MAX_EXPANSION * max(info.compress_size, 1)
        ):
            raise ValueError(
                f"{path}: member {info.filename!r} would expand from "
                f"{info.compress_size} to {info.file_size} bytes; nnfast does "
                f"not read such archives."
            )
        members[name] = info
        total += info.file_size
    limit = memory_limit()
    if limit is not None and total > limit:
        raise ValueError(
            f"{path}: its arrays would need {format_bytes(total)} of memory, more "
            f"than this machine has ({format_bytes(limit)})."
        )
    return members


def npy_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> ArrayHeader:
    """(shape, dtype) of a member from its .npy header, which must agree with the member's
    size in the zip directory."""
    with archive.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read(f, max_header_size=2**16)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
            raise
        except Exception as exc:  # numpy's parser of an untrusted header: tokenize, ast...
            raise ValueError(
                f"{path} is not a readable nnfast model file (member "
                f"{info.filename!r} is not a .npy array: {exc})."
            ) from None
        offset = f.tell()
    if dtype.hasobject:
        raise ValueError(
            f"{path} is not a readable nnfast model file (member "
            f"{info.filename!r} holds pickled objects, which nnfast never "
            f"loads)."
        )
    size = offset + dtype.itemsize * int(np.prod(shape, dtype=object))
    if size != info.file_size:
        raise ValueError(
            f"{path} is not a readable nnfast model file (member "
            f"{info.filename!r} claims shape {shape}, {size} bytes, but the "
            f"archive holds {info.file_size})."
        )
    return tuple(int(n) for n in shape), dtype


def nesting_depth(text: str) -> int:
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


def check_shapes(
    path: str,
    kind: str,
    header: Mapping[str, Any],
    shapes: Mapping[str, ArrayHeader],
    expected: Callable[[Mapping[str, Any]], Mapping[str, Sequence[int | None]]],
) -> None:
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
            raise ValueError(
                f"{path} has an inconsistent {kind} header or data ({name} has "
                f"shape {got}, the header needs {tuple(shape)})."
            )


def read_array(archive: zipfile.ZipFile, info: zipfile.ZipInfo, path: str) -> np.ndarray:
    with archive.open(info) as f:
        try:
            return np.lib.format.read_array(f, allow_pickle=False)
        except ValueError as exc:  # short data, a pickle, ...
            reason = (
                "it holds pickled objects, which nnfast never loads"
                if "pickle" in str(exc)
                else f"member {info.filename!r}: {exc}"
            )
            raise ValueError(f"{path} is not a readable nnfast model file ({reason}).") from None
