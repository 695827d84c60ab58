"""The NumPy reference, randomness: NumPy's bit generator, in the order the compiled loop draws."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import DTypeLike, NDArray

    from .._spec import Hyper, Spec
    from .._typing import FloatArray, RealArray


def shuffle_order(rng: np.random.Generator, order: NDArray[np.intp]) -> None:
    """Shuffle the sample order in place (``Generator.shuffle``)."""
    rng.shuffle(order)


def dropout_mask(rng: np.random.Generator, n_rows: int, n_units: int, rate: float) -> FloatArray:
    """Inverted dropout: keep where u >= rate (u from ``Generator.random``), scale
    1 / (1 - rate)."""
    return (rng.random((n_rows, n_units)) >= rate) / (1.0 - rate)


def dropout_masks(
    spec: Spec, hyper: Hyper, rng: np.random.Generator, n_rows: int, dtype: DTypeLike
) -> list[RealArray | None]:
    """One mask per hidden layer, drawn in layer order (None where the rate is 0), in the
    parameters' ``dtype`` (1 / (1 - rate) rounded to it)."""
    rates = hyper.dropout or (0.0,) * (spec.n_layers - 1)
    return [
        dropout_mask(rng, n_rows, spec.sizes[l + 1], rate).astype(dtype, copy=False)
        if rate > 0.0
        else None
        for l, rate in enumerate(rates)
    ]
