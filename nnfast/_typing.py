"""Type aliases the annotations share (imported under ``TYPE_CHECKING``: free at run time)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal, Union

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from .activations import Activation
    from .losses import Loss
    from .optimizers import SGD, Adagrad, Adam, RMSprop
    from .schedules import (
        CosineDecay,
        ExponentialDecay,
        InverseTimeDecay,
        OneCycle,
        ReduceOnPlateau,
    )

#: The float64 arrays the API returns.
FloatArray = NDArray[np.float64]
#: The arrays of a model's own precision (``dtype``): float64 or float32.
RealArray = NDArray[np.floating[Any]]
#: An activation as the API takes it: a name, an ``Activation`` or its ``config()`` dict.
ActivationLike = Union[str, "Activation", dict[str, Any]]
#: A loss as the API takes it: a name or a ``Loss``.
LossLike = Union[str, "Loss"]
#: An optimizer as ``train`` takes it: a name or an instance (AdamW is an Adam).
OptimizerLike = Union[str, "SGD", "Adam", "RMSprop", "Adagrad"]
#: A learning-rate schedule of ``nnfast.schedules`` (StepDecay is an ExponentialDecay).
Schedule = Union[
    "ExponentialDecay", "InverseTimeDecay", "ReduceOnPlateau", "CosineDecay", "OneCycle"
]
#: A weight initialisation's name (``Network``'s ``init``).
Init = Literal["auto", "xavier", "he", "normal", "zeros"]
#: What ``seed=`` takes: None (fresh entropy), an int >= 0, or a Generator used as it is.
Seed = Union[int, np.random.Generator, None]
#: A file or folder name.
StrPath = Union[str, "os.PathLike[str]"]
