"""Type aliases the annotations share (imported under ``TYPE_CHECKING``: free at run time)."""

from __future__ import annotations

import os
from typing import Union

import numpy as np
from numpy.typing import NDArray

#: The float64 arrays the API returns.
FloatArray = NDArray[np.float64]
#: What ``seed=`` takes: None (fresh entropy), an int >= 0, or a Generator used as it is.
Seed = Union[int, np.random.Generator, None]
#: A file or folder name.
StrPath = Union[str, "os.PathLike[str]"]
