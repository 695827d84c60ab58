"""The per-layer views of a network's flat parameter buffer that users may assign to
(``Network.weights`` / ``biases``, the estimators' ``coefs_`` / ``intercepts_``): every
assignment is checked, then copied into the buffer the kernels read."""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, NoReturn, SupportsIndex

import numpy as np

from ._validation import as_float_array

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import DTypeLike

    from ._typing import FloatArray


class LayerViews(list[np.ndarray]):
    """``net.weights`` / ``net.biases``: one view into ``net.parameters`` per layer.

    Setting an item copies the (checked) values into that layer's view; the list itself
    never changes length or order, so nothing the kernels read can be replaced.
    """

    def __init__(
        self,
        views: Iterable[np.ndarray],
        name: str,
        layout: str,
        dtype: DTypeLike = np.float64,
    ) -> None:
        super().__init__(views)
        self._name, self._layout, self._dtype = name, layout, dtype

    def _checked(self, i: int, value: Any) -> FloatArray:
        view = list.__getitem__(self, i)
        where = f"{self._name}[{i}]"
        if np.ndim(value) == 0:
            return as_float_array(
                np.full(view.shape, value, dtype=np.float64)
                if _is_number(value)
                else np.array([value]),
                where,
                dtype=self._dtype,
            )
        arr = as_float_array(value, where, ndim=(1, 2), dtype=self._dtype)
        if arr.shape != view.shape:
            hint = (
                f" (nnfast stores W as {self._layout}: pass its transpose)"
                if arr.shape == view.shape[::-1] and arr.ndim == 2
                else ""
            )
            raise ValueError(
                f"{where} must have shape {view.shape} {self._layout}, got {arr.shape}{hint}."
            )
        return arr

    def __setitem__(self, index: SupportsIndex | slice, value: Any) -> None:
        if isinstance(index, slice):
            at = range(len(self))[index]
            values = as_layer_list(value, self._name, len(at))
            checked = [self._checked(i, v) for i, v in zip(at, values)]  # all, then copy
            for i, arr in zip(at, checked):
                list.__getitem__(self, i)[...] = arr
            return
        try:
            i = operator.index(index)
        except TypeError:
            raise TypeError(f"{self._name} indices must be integers, got {index!r}.") from None
        if not -len(self) <= i < len(self):
            raise IndexError(f"{self._name}[{i}]: the network has {len(self)} layers.")
        i %= len(self)
        list.__getitem__(self, i)[...] = self._checked(i, value)

    def _fixed(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            f"{self._name} has one entry per layer, each a view into "
            f"net.parameters: set {self._name}[i] = values instead."
        )

    __delitem__ = append = extend = insert = pop = remove = clear = sort = reverse = _fixed
    __iadd__ = __imul__ = _fixed

    def __reduce__(self) -> tuple[type, tuple[list[np.ndarray]]]:  # a copy is a plain list
        return (list, (list(self),))


def as_layer_list(values: Any, name: str, n: int) -> list[Any]:
    if isinstance(values, np.ndarray) and values.dtype != object:
        raise TypeError(
            f"{name} must be a list of {n} arrays (one per layer), got one array; "
            f"set {name}[i] = array for one layer."
        )
    try:
        values = list(values)
    except TypeError:
        raise TypeError(
            f"{name} must be a list of {n} arrays (one per layer), got {type(values).__name__}."
        ) from None
    if len(values) != n:
        raise ValueError(f"{name} must be {n} arrays (one per layer), got {len(values)}.")
    return values


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
