"""Resources: what an allocation would need, refused before it is made when the machine
could never hold it."""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import SupportsInt


@functools.cache
def physical_memory() -> int | None:
    """The machine's physical memory in bytes, or None where the platform does not say."""
    try:
        pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * page_size if pages > 0 and page_size > 0 else None


def memory_limit() -> int | None:
    """Bytes one allocation (or a set of them made together) may need: the physical memory.

    Anything larger could never be allocated, or only swapped to a standstill; it is refused
    before anything is allocated, with the size it would need.
    """
    return physical_memory()


def format_bytes(n: SupportsInt) -> str:
    """``26843545600`` -> ``'25 GiB (26843545600 bytes)'``."""
    n = int(n)
    for unit, size in (
        ("EiB", 2**60),
        ("PiB", 2**50),
        ("TiB", 2**40),
        ("GiB", 2**30),
        ("MiB", 2**20),
        ("KiB", 2**10),
    ):
        if n >= size:
            return f"{n / size:.3g} {unit} ({n} bytes)"
    return f"{n} bytes"


def check_memory(nbytes: int, name: str, what: str | Callable[[], str]) -> int:
    """Refuse (ValueError naming ``name``) when ``what`` (a string, or a function making it
    only when needed) would need more than ``memory_limit()`` bytes; ``nbytes`` may be a
    Python int of any size."""
    limit = memory_limit()
    if limit is not None and nbytes > limit:
        what = what() if callable(what) else what
        raise ValueError(
            f"{name}: {what} would need {format_bytes(nbytes)} of memory, more than "
            f"this machine has ({format_bytes(limit)})."
        )
    return nbytes
