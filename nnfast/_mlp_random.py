"""The MLP estimators' randomness, drawn as scikit-learn draws it from ``random_state``.

scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` turn ``random_state`` into a
``RandomState`` at every ``fit`` and ``partial_fit`` call (``check_random_state``) and draw,
from it and in this order: the initial weights (first pass only), the early-stopping split
(``train_test_split``) and one shuffle of the sample order per epoch
(``sklearn.utils.shuffle``). This module reproduces those draws with NumPy alone, so that
the same ``random_state`` gives the same model: ``split_rows`` is ``train_test_split``'s
arithmetic (stratified or not, its messages word for word), and ``epoch_shuffler`` gives the
generator whose in-place shuffles are ``sklearn.utils.shuffle``'s orders.

What scikit-learn does not have (dropout masks, restarts) draws from ``extra_rng``, a
generator seeded from the RandomState's current state without advancing it, so that those
draws never shift scikit-learn's.
"""

from __future__ import annotations

import math
import numbers
from typing import TYPE_CHECKING, Union

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

    #: What the estimators draw from: scikit-learn's RandomState, or a Generator as it is.
    RandomSource = Union[np.random.RandomState, np.random.Generator]

__all__ = ["check_random_state", "epoch_shuffler", "extra_rng", "split_rows"]


def check_random_state(seed: object) -> RandomSource:
    """scikit-learn's ``check_random_state``: None is NumPy's global RandomState, an int a
    new ``RandomState(int)``, a RandomState itself; nnfast also takes a ``Generator`` (used
    as it is). The caller has checked ``seed`` (``check_seed(..., legacy=True)``)."""
    if seed is None or seed is np.random:
        return np.random.mtrand._rand
    if isinstance(seed, (np.random.RandomState, np.random.Generator)):
        return seed
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    raise ValueError(f"{seed!r} cannot be used to seed a numpy.random.RandomState instance")


def epoch_shuffler(rs: RandomSource) -> np.random.Generator | None:
    """A ``Generator`` whose ``shuffle`` of the order in place draws what
    ``sklearn.utils.shuffle(order, random_state=rs)`` draws (both are Fisher-Yates on the
    same bit generator), leaving ``rs`` where scikit-learn leaves it; the compiled loop
    shuffles with it. None when ``rs`` exposes no bit generator: then shuffle in Python with
    ``rs.shuffle``, which draws the same."""
    if isinstance(rs, np.random.Generator):
        return rs
    bit_generator = getattr(rs, "_bit_generator", None)
    if bit_generator is None:
        return None
    return np.random.Generator(bit_generator)


def extra_rng(rs: RandomSource) -> np.random.Generator:
    """A Generator for nnfast's own randomness (dropout, restarts), seeded from ``rs``'s
    current state without drawing from it: the same ``random_state`` gives the same run."""
    if isinstance(rs, np.random.Generator):
        return rs.spawn(1)[0]
    _, key, pos, *_ = rs.get_state(legacy=True)
    return np.random.default_rng([int(pos), *(int(k) for k in key[:8])])


# --- train_test_split's arithmetic ------------------------------------------------------------


def _approximate_mode(
    class_counts: NDArray[np.intp], n_draws: int, rs: RandomSource
) -> NDArray[np.int_]:
    """``sklearn.utils.extmath._approximate_mode``: how many of ``n_draws`` each class gets
    (floors of its share, the rest to the largest remainders, ties broken by ``rs``)."""
    continuous = class_counts / class_counts.sum() * n_draws
    floored = np.floor(continuous)
    need_to_add = int(n_draws - floored.sum())
    if need_to_add > 0:
        remainder = continuous - floored
        for value in np.sort(np.unique(remainder))[::-1]:
            (inds,) = np.where(remainder == value)
            add_now = min(len(inds), need_to_add)
            inds = rs.choice(inds, size=add_now, replace=False)
            floored[inds] += 1
            need_to_add -= add_now
            if need_to_add == 0:
                break
    return floored.astype(int)


def split_rows(
    n: int, test_size: float, rs: RandomSource, stratify: ArrayLike | None = None
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """(train rows, validation rows) in the order ``train_test_split(..., test_size=
    test_size, random_state=rs, stratify=stratify)`` gives them: ``ceil(test_size * n)``
    validation rows; unstratified, the two parts of one permutation; stratified (by the
    rows of ``stratify``, a 1-D array or a 2-D one whose distinct rows are the classes),
    each class permuted and cut by its share, then each part permuted again. A split
    that cannot be made raises scikit-learn's ValueError."""
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_train == 0:
        raise ValueError(
            f"With n_samples={n}, test_size={test_size} and train_size=None, the "
            "resulting train set will be empty. Adjust any of the aforementioned "
            "parameters."
        )
    if stratify is None:
        permutation = rs.permutation(n)
        return permutation[n_test : n_test + n_train], permutation[:n_test]
    y = np.asarray(stratify)
    if y.ndim == 2:  # each distinct row is a class, named by its string form
        y = np.array([" ".join(row.astype("str")) for row in y])
    classes, y_indices, class_counts = np.unique(y, return_inverse=True, return_counts=True)
    if np.min(class_counts) < 2:
        raise ValueError(
            "The least populated classes in y have only 1 member, which is too few. "
            "The minimum number of groups for any class cannot be less than 2. Classes "
            f"with too few members are: {classes[class_counts < 2].tolist()}"
        )
    if n_train < classes.size:
        raise ValueError(
            f"The train_size = {n_train} should be greater or equal to the number of "
            f"classes = {classes.size}"
        )
    if n_test < classes.size:
        raise ValueError(
            f"The test_size = {n_test} should be greater or equal to the number of "
            f"classes = {classes.size}"
        )
    class_indices = np.split(np.argsort(y_indices, kind="stable"), np.cumsum(class_counts)[:-1])
    n_i = _approximate_mode(class_counts, n_train, rs)
    t_i = _approximate_mode(class_counts - n_i, n_test, rs)
    train: list[np.intp] = []
    test: list[np.intp] = []
    for i in range(classes.size):
        rows = class_indices[i].take(rs.permutation(class_counts[i]), mode="clip")
        train.extend(rows[: n_i[i]])
        test.extend(rows[n_i[i] : n_i[i] + t_i[i]])
    return rs.permutation(train), rs.permutation(test)
