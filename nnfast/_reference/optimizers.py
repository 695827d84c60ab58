"""The NumPy reference, optimizers and schedules."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, overload

import numpy as np

from .._spec import (
    ADAGRAD,
    ADAM,
    ADAM_SKLEARN,
    ADAMW,
    CONSTANT,
    COSINE,
    EXPONENTIAL,
    ONE_CYCLE,
    RMSPROP,
    SGD,
    SGD_SKLEARN,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from numpy.typing import NDArray

    from .._spec import Hyper, OptimizerState
    from .._typing import FloatArray, RealArray


def cosine_rate(hyper: Hyper, t: float | FloatArray) -> FloatArray:
    """Linear warm-up from 0, then lr * ((1 - final) (1 + cos(pi p)) / 2 + final), p the
    fraction of decay_steps done (held at 1 after them)."""
    lr, warmup, final = hyper.learning_rate, hyper.warmup_steps, hyper.final_fraction
    p = np.minimum(t - warmup, hyper.decay_steps) / hyper.decay_steps
    decayed = lr * ((1.0 - final) * (0.5 * (1.0 + np.cos(np.pi * p))) + final)
    return np.where(t < warmup, lr * t / (warmup or 1.0), decayed)


def annealed(start: float, end: float, p: float | FloatArray) -> float | FloatArray:
    """torch's _annealing_cos: from start at p = 0 to end at p = 1."""
    return end + (start - end) / 2.0 * (np.cos(np.pi * p) + 1.0)


def one_cycle_rate(hyper: Hyper, t: float | FloatArray) -> FloatArray:
    """torch's OneCycleLR at step t: up from lr / div_factor to lr until the step
    pct_start * total_steps - 1, then down to lr / div_factor / final_div_factor at step
    total_steps - 1 (held there after it)."""
    lr = hyper.learning_rate
    low = lr / hyper.div_factor
    peak, last = hyper.pct_start * hyper.total_steps - 1.0, hyper.total_steps - 1.0
    up = annealed(low, lr, t / peak) if peak > 0 else low
    down = annealed(lr, low / hyper.final_div_factor, np.minimum((t - peak) / (last - peak), 1.0))
    return np.where((t <= peak) & (peak > 0), up, down)


@overload
def learning_rate_at(hyper: Hyper, t: int) -> float: ...
@overload
def learning_rate_at(hyper: Hyper, t: NDArray[np.integer[Any]]) -> float | FloatArray: ...


def learning_rate_at(hyper: Hyper, t: int | NDArray[np.integer[Any]]) -> float | FloatArray:
    """The learning rate of update step ``t`` (0-based; an array of steps works too, with an
    array of rates back, except under the CONSTANT schedule: its one rate)."""
    if hyper.schedule == CONSTANT:
        return hyper.learning_rate
    if hyper.schedule in (COSINE, ONE_CYCLE):
        units = np.floor(t / hyper.step_unit)  # steps or epochs
        rate = cosine_rate if hyper.schedule == COSINE else one_cycle_rate
        return rate(hyper, units)[()]  # a scalar for a scalar t
    p = t / hyper.decay_steps
    if hyper.staircase:
        p = np.floor(p)
    if hyper.schedule == EXPONENTIAL:
        return hyper.learning_rate * hyper.decay_rate**p
    return hyper.learning_rate / (1.0 + hyper.decay_rate * p) ** hyper.power  # INVERSE_TIME


def sgd_sklearn_update(
    hyper: Hyper, lr: float, t: int, params: RealArray, grad: RealArray, state: OptimizerState
) -> None:
    """scikit-learn's SGDOptimizer: the velocity carries the rate, v = mu v - lr g; p += v,
    or with Nesterov p += mu v - lr g (v the new velocity)."""
    if hyper.momentum:
        state.m[...] = hyper.momentum * state.m - lr * grad
        if hyper.nesterov:
            params += hyper.momentum * state.m - lr * grad
        else:
            params += state.m
    else:
        params -= lr * grad


def adam_sklearn_update(
    hyper: Hyper, lr: float, t: int, params: RealArray, grad: RealArray, state: OptimizerState
) -> None:
    """scikit-learn's AdamOptimizer: the moments without correction, the rate with it,
    lr_t = lr sqrt(1 - b2^(t+1)) / (1 - b1^(t+1)); p += -lr_t m / (sqrt(v) + eps)."""
    b1, b2 = hyper.beta_1, hyper.beta_2
    state.m[...] = b1 * state.m + (1 - b1) * grad
    state.v[...] = b2 * state.v + (1 - b2) * (grad**2)
    rate = lr * np.sqrt(1 - b2 ** (t + 1)) / (1 - b1 ** (t + 1))
    params += -rate * state.m / (np.sqrt(state.v) + hyper.epsilon)


def sgd_update(
    hyper: Hyper, lr: float, t: int, params: RealArray, grad: RealArray, state: OptimizerState
) -> None:
    """Plain, momentum or Nesterov SGD, as PyTorch: v = mu v + g; p -= lr (g + mu v if
    nesterov else v)."""
    if hyper.momentum:
        state.m[...] = hyper.momentum * state.m + grad
        step = grad + hyper.momentum * state.m if hyper.nesterov else state.m
        params -= lr * step
    else:
        params -= lr * grad


def adam_update(
    hyper: Hyper, lr: float, t: int, params: RealArray, grad: RealArray, state: OptimizerState
) -> None:
    """Adam (Kingma & Ba, Algorithm 1), with bias correction."""
    b1, b2 = hyper.beta_1, hyper.beta_2
    state.m[...] = b1 * state.m + (1.0 - b1) * grad
    state.v[...] = b2 * state.v + (1.0 - b2) * grad * grad
    m_hat = state.m / (1.0 - b1 ** (t + 1))
    v_hat = state.v / (1.0 - b2 ** (t + 1))
    params -= lr * m_hat / (np.sqrt(v_hat) + hyper.epsilon)


def adamw_update(
    hyper: Hyper, lr: float, t: int, params: RealArray, grad: RealArray, state: OptimizerState
) -> None:
    """AdamW (Loshchilov & Hutter), as torch.optim.AdamW: the decoupled decay
    p := (1 - lr weight_decay) p, then Adam's step."""
    params *= 1.0 - lr * hyper.weight_decay
    adam_update(hyper, lr, t, params, grad, state)


def rmsprop_update(
    hyper: Hyper, lr: float, t: int, params: RealArray, grad: RealArray, state: OptimizerState
) -> None:
    """RMSprop, as torch.optim.RMSprop: v := rho v + (1 - rho) g**2 and the step
    lr g / (sqrt(v) + eps); centered, sqrt(v - g_avg**2) with g_avg the gradients' average
    (held at >= 0 under the root); with momentum the step goes through a velocity m."""
    rho = hyper.rho
    state.v[...] = rho * state.v + (1.0 - rho) * grad * grad
    if hyper.centered:
        state.g_avg[...] = rho * state.g_avg + (1.0 - rho) * grad
        divisor = np.sqrt(np.maximum(state.v - state.g_avg * state.g_avg, 0.0)) + hyper.epsilon
    else:
        divisor = np.sqrt(state.v) + hyper.epsilon
    if hyper.momentum:
        state.m[...] = hyper.momentum * state.m + grad / divisor
        params -= lr * state.m
    else:
        params -= lr * grad / divisor


def adagrad_update(
    hyper: Hyper, lr: float, t: int, params: RealArray, grad: RealArray, state: OptimizerState
) -> None:
    """Adagrad, as torch.optim.Adagrad without rate decay: v := v + g**2 (from
    initial_accumulator_value), p -= lr g / (sqrt(v) + eps)."""
    state.v += grad * grad
    params -= lr * grad / (np.sqrt(state.v) + hyper.epsilon)


# The optimizers, one entry each: code -> the update of the whole flat buffer.
OPTIMIZERS: dict[int, Callable[[Hyper, float, int, RealArray, RealArray, OptimizerState], None]] = {
    SGD: sgd_update,
    ADAM: adam_update,
    SGD_SKLEARN: sgd_sklearn_update,
    ADAM_SKLEARN: adam_sklearn_update,
    ADAMW: adamw_update,
    RMSPROP: rmsprop_update,
    ADAGRAD: adagrad_update,
}


def clip_gradient(hyper: Hyper, grad: RealArray) -> RealArray:
    """grad clipped in place (and returned): each element to [-clip_value, clip_value]
    (torch's clip_grad_value_), then the whole by clip_norm / (||grad|| + 1e-6) where that is
    below 1 (torch's clip_grad_norm_, the norm over every parameter); 0 turns either off."""
    if hyper.clip_value:
        np.clip(grad, -hyper.clip_value, hyper.clip_value, out=grad)
    if hyper.clip_norm:
        norm = float(np.sqrt(np.sum(grad * grad, dtype=np.float64)))
        scale = hyper.clip_norm / (norm + 1e-6)  # a Python float: rounded to grad's dtype
        if scale < 1.0:
            grad *= scale
    return grad


def update(hyper: Hyper, params: RealArray, grad: RealArray, state: OptimizerState) -> None:
    """One optimizer step on the flat buffer at the schedule's rate; counts the step."""
    t = int(state.step[0])  # a Python int: the rates stay Python floats, NumPy rounds them
    OPTIMIZERS[hyper.optimizer](hyper, learning_rate_at(hyper, t), t, params, grad, state)
    state.step[0] = t + 1
