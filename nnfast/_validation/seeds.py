"""Random state: seeds and generators."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .._typing import Seed


def check_seed(seed: object, name: str = "seed", legacy: bool = False) -> None:
    """Refuse, drawing nothing, what ``check_rng`` would refuse: TypeError for what is not a
    seed, ValueError for an int out of range."""
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if legacy and isinstance(seed, np.random.RandomState):
        return
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if int(seed) < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {seed}.")
        if legacy and int(seed) >= 2**32:
            raise ValueError(
                f"{name} must be an int in [0, 2**32) (a RandomState seed), got {seed}."
            )
        return
    what = (
        "an int in [0, 2**32), a numpy Generator or RandomState"
        if legacy
        else "an int or a numpy.random.Generator"
    )
    raise TypeError(f"{name} must be None, {what}, got {seed!r}.")


def check_rng(
    seed: Seed | np.integer[Any] | np.random.RandomState,
    name: str = "seed",
    legacy: bool = False,
) -> np.random.Generator:
    """A ``numpy.random.Generator`` from None (fresh entropy), an int >= 0 (its seed) or a
    Generator (used as it is, not copied).

    ``legacy`` (the scikit-learn-style estimators' ``random_state``) also takes a legacy
    ``RandomState``, from which a seed is drawn so that repeated fits differ as they do in
    scikit-learn, and limits ints to RandomState's [0, 2**32).
    """
    check_seed(seed, name, legacy)
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.RandomState):
        return np.random.default_rng(seed.randint(np.iinfo(np.int32).max))
    return np.random.default_rng(seed)
