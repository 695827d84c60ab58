"""scikit-learn's ``solver="lbfgs"`` for the MLP estimators: SciPy's L-BFGS-B on
scikit-learn's full-batch objective, computed by the backend's ``loss_and_gradient``
kernel, with its options (``maxiter=max_iter, maxfun=max_fun, gtol=tol``); restarts in
threads."""

from __future__ import annotations

import threading
import types
from typing import TYPE_CHECKING, cast

import numpy as np

from . import _backend
from ._mlp_solvers import poisson_constants
from ._run import run_in_threads
from ._validation import check_memory
from .exceptions import ConvergenceWarning, warn
from .network import full_batch_bytes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from types import ModuleType
    from typing import Protocol, TypedDict

    from ._mlp_solvers import MLPState, Params, Rows
    from ._spec import Spec
    from ._typing import FloatArray, RealArray

    class LbfgsResult(Protocol):
        """What is read of SciPy's ``OptimizeResult``, and whether Ctrl-C ended the run."""

        x: FloatArray
        fun: float
        nit: int
        status: int | None
        message: str | bytes
        interrupted: bool

    class Iterate(TypedDict, total=False):
        """An L-BFGS iterate and the objective there."""

        x: FloatArray
        value: float

    class Kept(TypedDict):
        """The last complete iteration's iterate, and the objective there once known."""

        x: FloatArray
        value: float | None


class Objective:
    """scikit-learn's full-batch objective of the L-BFGS solver (its ``_loss_grad_lbfgs``):
    the loss it reports, ``c`` times the backend's mean loss (``loss_and_gradient``) plus
    ``l1 |W| + l2 / 2 ||W||^2``, and what it hands L-BFGS as the gradient: the data term's
    times ``g`` (scikit-learn's squared error over K outputs steps on K times its reported
    mean's gradient: g = c K), plus the penalty's."""

    def __init__(
        self,
        kernels: ModuleType,
        spec: Spec,
        X: Rows,
        Y: RealArray,
        w: RealArray | None,
        l1: float,
        l2: float,
        c: float,
        g: float,
        constant: float = 0.0,
    ) -> None:
        self.kernels, self.spec, self.X, self.Y, self.w = kernels, spec, X, Y, w
        self.l1, self.l2, self.c, self.g = l1, l2, c, g
        self.constant = constant  # loss="poisson": the deviance's part the kernel drops

    def __call__(self, x: RealArray, grad: FloatArray | None = None) -> float:
        """The objective at flat parameters x; ``grad`` (if given) := its gradient. SciPy's
        float64 x is rounded to a float32 model's precision, where the kernel computes (as
        scikit-learn's float32 arrays do), and the gradient comes back in float64."""
        dtype = self.X.dtype
        x = np.ascontiguousarray(x, dtype=dtype)
        g = grad if grad is None or grad.dtype == dtype else np.empty(grad.shape, dtype)
        value = self.kernels.loss_and_gradient(self.spec, x, self.X, self.Y, 0.0, 0.0, g, self.w)
        W = x[: self.spec.n_weights]
        if grad is not None:
            assert g is not None  # grad, or its twin in the model's dtype
            g *= self.g
            g[: self.spec.n_weights] += self.l1 * np.sign(W) + self.l2 * W
            if g is not grad:
                grad[...] = g
        return (
            self.c * float(value)
            + self.constant
            + self.l1 * float(np.abs(W).sum())
            + 0.5 * self.l2 * float(W @ W)
        )


def objective(
    est: MLPState,
    p: Params,
    X: Rows,
    Y: RealArray,
    weights: tuple[RealArray | None, float],
) -> Objective:
    """The ``Objective`` of estimator ``est`` on checked (X, Y) and combined weights."""
    w, w_scale = weights
    c = est._loss_scale()
    # scikit-learn's squared error over K outputs steps on K times its reported mean's
    g = (
        c * Y.shape[1]
        if est._target == "regression" and est._losses(est._target)[0] == "mse"
        else c
    )
    total = X.shape[0] if w is None else float(w.sum())
    constants = poisson_constants(p, Y)
    constant = 0.0 if constants is None else float(np.average(constants, weights=w))
    return Objective(
        _backend.kernels(dtype=X.dtype),
        est._net.spec,
        X,
        Y,
        w,
        p.l1,
        p.alpha / (total * w_scale),
        c,
        g,
        constant,
    )


class Lbfgs:
    """scikit-learn's ``solver="lbfgs"``: SciPy's L-BFGS-B on ``objective`` with
    scikit-learn's options (``maxiter=max_iter, maxfun=max_fun, gtol=tol``), restarts in
    threads."""

    def __init__(self, objective: Objective, p: Params) -> None:
        self.objective, self.p = objective, p
        self.cancel = threading.Event()

    def minimise(self, x0: FloatArray) -> tuple[LbfgsResult, list[float]]:
        """One L-BFGS run from x0: (result, objective after each iteration). Ctrl-C (or a
        cancel) keeps its last iterate."""
        import scipy.optimize

        f, p = self.objective, self.p
        grad, curve = np.empty(f.spec.n_params), []
        last: Iterate = {}
        kept: Kept = {"x": x0, "value": None}

        def fun(x: FloatArray) -> tuple[float, FloatArray]:
            if self.cancel.is_set():
                raise KeyboardInterrupt("cancelled")
            value = f(x, grad)
            last["x"], last["value"] = x.copy(), value
            return value, grad

        def callback(xk: FloatArray) -> None:
            seen = last.get("x")
            same = seen is not None and np.array_equal(xk, seen)
            value = last["value"] if same else f(np.ascontiguousarray(xk))
            curve.append(float(value))
            kept["x"], kept["value"] = np.array(xk, dtype=np.float64), value

        try:
            result = scipy.optimize.minimize(
                fun,
                x0,
                method="L-BFGS-B",
                jac=True,
                callback=callback,
                options={"maxiter": p.max_iter, "maxfun": p.max_fun, "gtol": p.tol},
            )
        except KeyboardInterrupt:
            value = kept["value"] if kept["value"] is not None else f(kept["x"])
            stopped = types.SimpleNamespace(
                x=kept["x"],
                fun=value,
                nit=len(curve),
                status=None,
                message="",
                interrupted=True,
            )
            return cast("LbfgsResult", stopped), curve
        result.interrupted = False
        return result, curve

    def runs(
        self, starts: Sequence[Callable[[], FloatArray]], workers: int
    ) -> tuple[list[tuple[LbfgsResult, list[float]]], bool]:
        """[(result, curve)] of an L-BFGS run from each start (``starts(i)`` gives run i's
        initial parameters), ``workers`` at a time; Ctrl-C cancels them all, keeping each
        one's last iterate. Returns (runs, interrupted)."""
        restarts = len(starts)
        if restarts == 1:
            result, curve = self.minimise(starts[0]())
            return [(result, curve)], result.interrupted
        runs: list[tuple[LbfgsResult, list[float]] | None] = [None] * restarts

        def run(i: int, start: FloatArray) -> None:
            runs[i] = self.minimise(start)

        interrupted = run_in_threads(restarts, workers, lambda i: starts[i](), run, self.cancel.set)
        return [r for r in runs if r is not None], interrupted


def lbfgs_memory(spec: Spec, X: Rows, restarts: int, workers: int) -> None:
    check_memory(restarts * 96, "restarts", lambda: f"the records of {restarts} restarts")
    check_memory(
        workers * full_batch_bytes(spec, X.shape[0]),
        "X",
        lambda: (
            f"solver='lbfgs': the full-batch workspace of {X.shape[0]} rows "
            f"through layers {list(spec.sizes)}"
            + (f", for {workers} restarts at once" if workers > 1 else "")
        ),
    )


def lbfgs_warning(result: LbfgsResult) -> None:
    message = result.message.decode() if isinstance(result.message, bytes) else result.message
    warn(
        f"lbfgs failed to converge after {result.nit} iteration(s) (status="
        f"{result.status}): {message}\nIncrease the number of iterations (max_iter) "
        f"or of function evaluations (max_fun), or scale the data.",
        ConvergenceWarning,
        stacklevel=6,
    )
