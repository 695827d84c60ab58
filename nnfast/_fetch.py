"""Find a data set's files locally, or download them once into a cache, checked by SHA-256.

A data set is a folder name and its files, each with the SHA-256 of its *content*: the
bytes of the file, or of the decompressed file for a ``.gz``. Hashing the content rather
than the archive accepts the same data gzipped by another tool (or not gzipped at all), and
still rejects any changed byte.

Where the files are looked for, in order: ``path=`` (only there, when given), the folder in
``$NNFAST_DATA``, the cache (``$XDG_CACHE_HOME/nnfast``, default ``~/.cache/nnfast``);
then they are downloaded into the cache. In each folder, a file may sit directly in it or
in a sub-folder named after the data set (``mnist/``), gzipped or not.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ._typing import StrPath

#: Bytes read at a time while hashing or copying.
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Source:
    """Files of one data set and where they are published.

    ``files`` maps a file name to the SHA-256 of its content and its size in bytes (the
    size bounds decompression). ``urls`` are tried in order: each is a folder URL the file
    names are appended to, or, with ``archive``, the URL of a zip file holding the files
    (possibly in a folder inside it).
    """

    name: str
    files: dict[str, tuple[str, int]]
    urls: tuple[str, ...]
    archive: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/nnfast`` when that variable holds an absolute path, else
    ``~/.cache/nnfast``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "nnfast"


def _candidates(folder: Path, source: Source, name: str) -> Iterator[Path]:
    bare = name.removesuffix(".gz")
    for where in (folder, folder / source.name):
        yield where / (bare + ".gz")
        yield where / bare


def _find(folder: Path, source: Source, name: str) -> Path | None:
    for candidate in _candidates(folder, source, name):
        if candidate.is_file():
            return candidate
    return None


def _find_all(folder: Path, source: Source) -> dict[str, Path] | None:
    """``{file name: path}`` of every file of ``source`` in ``folder``; None if one is not."""
    found = {}
    for name in source.files:
        path = _find(folder, source, name)
        if path is None:
            return None
        found[name] = path
    return found


def read_content(path: Path, limit: int) -> bytes:
    """The file's bytes, decompressed when it is gzipped (by its magic number, not its
    name); refuses to decompress more than ``limit`` bytes."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as f:
            data = f.read(limit + 1)
    except (OSError, EOFError) as exc:  # a truncated or corrupt gzip stream
        raise ValueError(
            f"{path} could not be read ({exc}): delete it or replace it with the published file."
        ) from None
    if len(data) > limit:
        raise ValueError(
            f"{path} holds more than the {limit} bytes expected: it is not the published file."
        )
    return data


def _check(path: Path, data: bytes, expected: str) -> None:
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise ValueError(
            f"{path} is not the published file: its content has SHA-256 {digest}, expected "
            f"{expected}. Delete it (or replace it with the published file) and try again."
        )


def _folders(path: StrPath | None = None) -> list[tuple[str, Path]]:
    """(label, folder) pairs to look in, in order."""
    if path is not None:
        return [("path", Path(path).expanduser())]
    folders = []
    if os.environ.get("NNFAST_DATA"):
        folders.append(("$NNFAST_DATA", Path(os.environ["NNFAST_DATA"]).expanduser()))
    folders.append(("the cache", cache_dir()))
    return folders


def found_locally(source: Source, path: StrPath | None = None) -> bool:
    """Whether every file of ``source`` is in one of the folders looked in (nothing is
    read, checked or downloaded)."""
    return any(_find_all(folder, source) is not None for _, folder in _folders(path))


def load(source: Source, path: StrPath | None = None, download: bool = True) -> dict[str, bytes]:
    """``{file name: content bytes}`` of every file of ``source``, each checked."""
    folders = _folders(path)
    for _, folder in folders:
        found = _find_all(folder, source)
        if found is not None:
            return {name: _checked(found[name], source, name) for name in source.files}
    if path is not None or not download:
        raise FileNotFoundError(_missing(source, folders))
    target = cache_dir() / source.name
    try:
        fetch(source, target)
    except OSError as exc:
        raise FileNotFoundError(_missing(source, folders, exc)) from exc
    return {name: _checked(target / name, source, name) for name in source.files}


def _checked(path: Path, source: Source, name: str) -> bytes:
    expected, size = source.files[name]
    data = read_content(path, size)
    _check(path, data, expected)
    return data


def _missing(
    source: Source, folders: list[tuple[str, Path]], download_error: Exception | None = None
) -> str:
    names = ", ".join(source.files)
    where = "; ".join(f"{label} {folder}" for label, folder in folders)
    text = (
        f"The {source.name} files ({names}) were not found (looked in {where}). Put them "
        f"in a folder and pass path=, or set NNFAST_DATA to a folder holding them (directly "
        f"or in a '{source.name}' sub-folder), or copy them to {cache_dir() / source.name}."
    )
    if download_error is None:
        return text
    return text + f" The download failed too ({download_error})."


def fetch(source: Source, target: Path, opener: Callable[..., Any] | None = None) -> None:
    """Download every file of ``source`` into ``target``, trying each URL in turn; a file
    whose content fails its SHA-256 check is deleted, never kept. When no URL gives good
    files, raises the last URL's error: OSError when it could not be read, ValueError when
    what it gave is not the published data."""
    opener = opener or urllib.request.urlopen
    target.mkdir(parents=True, exist_ok=True)
    error: Exception = OSError(f"no URL to download {source.name} from")
    for url in source.urls:
        try:
            if source.archive:
                _fetch_archive(source, url, target, opener)
            else:
                for name in source.files:
                    if not (target / name).is_file():
                        _fetch_file(
                            source, url.rstrip("/") + "/" + name, target / name, name, opener
                        )
            return
        except zipfile.BadZipFile as exc:
            error = ValueError(f"{url} is not a zip archive ({exc}).")
        except (OSError, ValueError) as exc:
            error = exc
    raise error


def _download(url: str, folder: Path, opener: Callable[..., Any]) -> Path:
    """``url`` saved to a temporary file in ``folder`` (the caller moves or deletes it)."""
    handle, name = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, opener(url, timeout=60) as response:
            shutil.copyfileobj(response, out, _CHUNK)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def _fetch_file(
    source: Source, url: str, dest: Path, name: str, opener: Callable[..., Any]
) -> None:
    part = _download(url, dest.parent, opener)
    try:
        _checked(part, source, name)
    except BaseException:
        part.unlink()
        raise
    os.replace(part, dest)


def _fetch_archive(source: Source, url: str, target: Path, opener: Callable[..., Any]) -> None:
    part = _download(url, target, opener)
    try:
        with zipfile.ZipFile(part) as archive:
            members = {Path(m).name: m for m in archive.namelist()}
            for name, (expected, size) in source.files.items():
                if name not in members:
                    raise ValueError(f"{url} has no file {name}.")
                info = archive.getinfo(members[name])
                if info.file_size > size:
                    raise ValueError(f"{name} in {url} is larger than the published file.")
                data = archive.read(members[name])
                _check(Path(url) / name, data, expected)
                (target / (name + ".part")).write_bytes(data)
                os.replace(target / (name + ".part"), target / name)
    finally:
        part.unlink()
