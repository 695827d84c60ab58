"""How the MLP estimators train: the stochastic solvers ('sgd', 'adam') through
``nnfast.training.train`` with scikit-learn's stopping rule, validation score and split as
nnfast callbacks, and 'lbfgs' through SciPy on the backend's full-batch kernel."""

from __future__ import annotations

import concurrent.futures
import copy
import threading
import types
import warnings

import numpy as np

from . import _backend, schedules
from ._validation import all_finite, check_memory, rescaled
from .data import stratified_rows
from .exceptions import ConvergenceWarning, warn
from .metrics import r2_score
from .network import full_batch_bytes
from .optimizers import SGD, Adam
from .training import EarlyStopping, History, _check_jobs, train

#: scikit-learn's message when training ends with weights that are not finite (its
#: test_nonfinite_params matches it).
NONFINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large "
    "values and need to be preprocessed."
)

#: scikit-learn's floor for learning_rate="adaptive": below it, training stops.
MIN_ADAPTIVE_RATE = 1e-6


class StoppingRule(EarlyStopping):
    """scikit-learn's MLP stopping rule and adaptive rate as an nnfast callback.

    Per epoch (``adjust_learning_rate`` runs before ``on_epoch_end``): count epochs without
    improvement of the training loss by ``tol`` (or of the validation score, with early
    stopping); more than ``n_iter_no_change`` in a row divides an adaptive rate by 5, else
    stops. Its memory is written to ``history._mlp_state`` so that the estimator reads the
    winning run's when there are restarts (each restart trains with a deep copy).
    """

    def __init__(
        self,
        *,
        state,
        tol,
        n_iter_no_change,
        adaptive,
        loss_scale,
        rate_scale,
        validation=None,
        invscaling=None,
        verbose=False,
    ):
        super().__init__(patience=0, restore_best=validation is not None)
        self.initial_state, self.tol, self.n_iter_no_change = dict(state), tol, n_iter_no_change
        self.adaptive, self.validation = adaptive, validation
        self.loss_scale, self.rate_scale = loss_scale, rate_scale
        self.invscaling, self.verbose = invscaling, verbose

    def on_train_begin(self, network):
        super().on_train_begin(network)
        self.network, self.state = network, dict(self.initial_state)
        # Early stopping restores the best epoch, or (warm start) the starting weights,
        # which are the previous fit's best, as scikit-learn keeps its best weights.
        self.start = network.parameters.copy() if self.restore_best else None
        self.seen, self.stop = -1, False

    def _update(self, epoch, history):
        if epoch == self.seen:
            return
        self.seen, s = epoch, self.state
        if self.validation is not None:
            score = self.validation(self.network)
            history.__dict__.setdefault("validation_score", []).append(score)
            stalled = score < s["best_score"] + self.tol  # scikit-learn's test (NaN resets)
            s["count"] = s["count"] + 1 if stalled else 0
            if score > s["best_score"]:
                s["best_score"] = score
                self.best_parameters, self.best_epoch = self.network.parameters.copy(), epoch
        else:
            loss = history.loss[-1]
            stalled = loss > s["best_loss"] - self.tol / self.loss_scale  # scikit-learn's test
            s["count"] = s["count"] + 1 if stalled else 0
            s["best_loss"] = min(s["best_loss"], loss)
        if self.verbose:
            print(f"Iteration {epoch + 1}, loss = {history.loss[-1]:.8f}")
            if self.validation is not None:
                print(f"Validation score: {history.validation_score[-1]:f}")

    def adjust_learning_rate(self, epoch, history, lr):
        self._update(epoch, history)
        new = lr
        if self.invscaling is not None:  # when the kernel's schedule cannot be used
            lr0, power, t0, n = self.invscaling
            new = lr0 / (t0 + (epoch + 1) * n + 1) ** power
        if self.state["count"] > self.n_iter_no_change:
            if self.adaptive and lr / self.rate_scale > MIN_ADAPTIVE_RATE:
                new = lr / 5.0
                self.state["count"] = 0
                if self.verbose:
                    print(f"Setting learning rate to {new / self.rate_scale:f}")
            else:
                self.stop = True
        history._mlp_state = {**self.state, "learning_rate": new / self.rate_scale}
        return new

    def on_epoch_end(self, epoch, history, network):
        self._update(epoch, history)
        return self.stop

    def on_train_end(self, history, network):
        if self.restore_best:
            best = self.best_parameters if self.best_parameters is not None else self.start
            network.parameters[:] = best
            history.best_epoch = history.restored_epoch = self.best_epoch
            # no better epoch: the weights the run started from (a warm start's) are kept
            history.kept_start = self.best_parameters is None


class ValidationScore:
    """Accuracy (subset accuracy for multilabel) or R^2 of a network on held-out rows."""

    def __init__(self, kind, X, Y, w=None):
        self.kind, self.X, self.Y, self.w = kind, X, Y, w

    def __call__(self, network):
        p = outputs(network, self.X, report=False)
        if self.kind == "regression":
            return r2_score(self.Y, p, self.w) if np.isfinite(p).all() else float("nan")
        if self.kind == "multiclass":
            right = p.argmax(axis=1) == self.Y.argmax(axis=1)
        else:
            right = ((p > 0.5) == (self.Y > 0.5)).all(axis=1)
        return float(np.average(right, weights=self.w))


def scorer(scoring):
    """``scoring`` as a callable(estimator, X, y): a scikit-learn scorer name (scikit-learn's
    ``get_scorer``) or a callable, checked."""
    if callable(scoring):
        return scoring
    if not isinstance(scoring, str):
        raise TypeError(
            f"scoring must be None, a scikit-learn scorer name or a callable(estimator, X, y), "
            f"got {scoring!r}."
        )
    try:
        from sklearn.metrics import get_scorer
    except ImportError:
        raise ImportError(
            f"scoring={scoring!r} names a scikit-learn scorer: install scikit-learn (pip "
            f"install scikit-learn), or pass a callable(estimator, X, y)."
        ) from None
    return get_scorer(scoring)  # ValueError, listing the names, for an unknown one


class ScorerValidation:
    """A scikit-learn scorer (``scoring``: a name or callable(estimator, X, y)) of the
    network being trained, on held-out rows: the estimator is copied with that network as
    its ``network_`` (a restart trains its own), and the rows' targets are decoded back to
    what ``fit`` took (labels, an indicator matrix, values)."""

    def __init__(self, estimator, scorer, X, Y, w=None):
        self.estimator, self.scorer, self.X, self.w = estimator, scorer, X, w
        kind = estimator._target
        if kind == "multiclass":
            self.y = estimator.classes_[Y.argmax(axis=1)]
        elif kind == "binary":
            self.y = estimator.classes_[(Y[:, 0] > 0.5).astype(np.intp)]
        elif kind == "multilabel":
            self.y = (Y > 0.5).astype(int)
        else:
            self.y = Y.ravel() if Y.shape[1] == 1 else Y

    def __call__(self, network):
        model = copy.copy(self.estimator)
        model.network_ = network
        extra = {} if self.w is None else {"sample_weight": self.w}
        return float(self.scorer(model, self.X, self.y, **extra))


def outputs(network, X, report=True):
    """The network's outputs for an X already checked (C-contiguous float64, finite): the
    kernels directly, without ``feedforward``'s second scan of X, after the network's O(1)
    checks of X's width and of its parameter buffer (``report``: non-finite outputs raise
    or warn, see ``Network.feedforward``)."""
    return network._outputs(X, report=report)


def validation_rows(n, fraction, rng, strata=None):
    """(train rows, validation rows): ceil(fraction * n) rows held out, drawn at random;
    stratified by ``strata`` (each class keeps its share, the rounding going to the classes
    with the largest remainders), as scikit-learn's early stopping splits."""
    n_val = int(np.ceil(fraction * n))
    if n_val < 2 or n_val >= n:
        raise ValueError(
            "The validation set is too small (or leaves no training samples): "
            f"validation_fraction={fraction} of {n} samples is {n_val}. Increase "
            "'validation_fraction' or the size of your dataset."
        )
    if strata is None:
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    is_val = np.zeros(n, dtype=bool)
    is_val[stratified_rows(strata, n_val, rng, random_ties=True)] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


class Unfit(Exception):
    """Training stopped before anything was learnt: the estimator is left unfitted."""


def drop_last_epoch(history):
    """Remove the last epoch from every list of ``history`` (a diverged epoch's record)."""
    n = max(0, history.epochs - 1)
    for x in (
        history.loss,
        history.accuracy,
        history.val_loss,
        history.val_accuracy,
        history.learning_rate,
    ):
        del x[n:]
    if history.best_epoch is not None and history.best_epoch >= n:
        history.best_epoch = None
    if history.restored_epoch is not None and history.restored_epoch >= n:
        history.restored_epoch = None
    history.stopped_epoch = None


def combined_weights(sample_weight, class_weight):
    """(weights or None, scale): ``sample_weight * class_weight`` divided by ``scale``, which
    keeps them (and the kernels' sums of them) finite; ``scale`` is 1 for ordinary weights.

    The estimators' objective, ``sum w L / sum w + alpha / (2 sum w) ||W||^2``, gets the true
    ``sum w`` from ``scale`` for its penalty."""
    scale, parts = 1.0, []
    for w in (sample_weight, class_weight):
        if w is None:
            continue
        w, factor = rescaled(w)
        scale *= factor
        parts.append(w)
    if not parts:
        return None, 1.0
    w, factor = rescaled(parts[0] if len(parts) == 1 else parts[0] * parts[1])
    return w, scale * factor


def stochastic_only(estimator):
    """``partial_fit`` exists only for the stochastic solvers, as in scikit-learn."""
    if estimator.solver == "lbfgs":
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. "
            f"{estimator.solver} is not stochastic."
        )
    return True


class Lbfgs:
    """scikit-learn's ``solver="lbfgs"``: SciPy's L-BFGS-B on the backend's full-batch
    ``loss_and_gradient`` kernel, with scikit-learn's options (``maxiter=max_iter,
    maxfun=max_fun, gtol=tol``) on scikit-learn's scale of the objective (``c`` times the
    kernel's), restarts in threads.

    ``p`` holds the estimator's checked parameters; ``l1`` and ``l2`` are the kernel's.
    """

    def __init__(self, kernels, spec, X, Y, w, l1, l2, c, p):
        self.kernels, self.spec, self.X, self.Y, self.w = kernels, spec, X, Y, w
        self.l1, self.l2, self.c, self.p = l1, l2, c, p
        self.cancel = threading.Event()

    def penalty(self, x):
        x = x[: self.spec.n_weights]
        return self.l1 * np.abs(x).sum() + 0.5 * self.l2 * (x @ x)

    def loss(self, x):
        return float(
            self.kernels.loss_and_gradient(
                self.spec, x, self.X, self.Y, self.l1, self.l2, None, self.w
            )
        )

    def minimise(self, x0):
        """One L-BFGS run from x0: (result, data loss after each iteration). Ctrl-C (or a
        cancel) keeps its last iterate."""
        import scipy.optimize

        kernels, spec, c, p = self.kernels, self.spec, self.c, self.p
        grad, last, curve = np.empty(spec.n_params), {}, []
        kept = {"x": x0, "value": None}

        def objective(x):
            if self.cancel.is_set():
                raise KeyboardInterrupt("cancelled")
            value = kernels.loss_and_gradient(
                spec, x, self.X, self.Y, self.l1, self.l2, grad, self.w
            )
            last["x"], last["value"] = x.copy(), value
            return c * value, c * grad  # scikit-learn's scale: gtol means the same

        def callback(xk):
            value = (
                last["value"]
                if np.array_equal(xk, last.get("x"))
                else self.loss(np.ascontiguousarray(xk))
            )
            curve.append(float(value - self.penalty(xk)))
            kept["x"], kept["value"] = np.array(xk, dtype=np.float64), value
            if p.verbose:
                print(f"Iteration {len(curve)}, loss = {curve[-1]:.8f}")

        try:
            result = scipy.optimize.minimize(
                objective,
                x0,
                method="L-BFGS-B",
                jac=True,
                callback=callback,
                options={"maxiter": p.max_iter, "maxfun": p.max_fun, "gtol": p.tol},
            )
        except KeyboardInterrupt:
            value = kept["value"] if kept["value"] is not None else self.loss(kept["x"])
            return types.SimpleNamespace(
                x=kept["x"],
                fun=c * value,
                nit=len(curve),
                status=None,
                message="",
                interrupted=True,
            ), curve
        result.interrupted = False
        return result, curve

    def runs(self, net, rng, restarts, workers):
        """[(result, curve)] of each L-BFGS restart: restart 0 from the network's weights,
        restart i from a network initialised by the i-th child spawned from ``rng`` (one at
        a time, as ``rng.spawn`` would), ``workers`` at a time; Ctrl-C cancels them all,
        keeping each one's last iterate. Returns (runs, interrupted)."""
        if restarts == 1:
            result, curve = self.minimise(net.parameters.copy())
            return [(result, curve)], result.interrupted
        runs, lock, shared = [None] * restarts, threading.Lock(), {"next": 0}

        def worker():
            while True:
                with lock:
                    if self.cancel.is_set() or shared["next"] >= restarts:
                        return
                    i = shared["next"]
                    shared["next"] += 1
                    child = None if i == 0 else rng.spawn(1)[0]
                start = (
                    net.parameters.copy() if i == 0 else net._restart_copy(child).parameters.copy()
                )
                runs[i] = self.minimise(start)

        interrupted = False
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(worker) for _ in range(workers)]
            try:
                concurrent.futures.wait(futures)
            except KeyboardInterrupt:
                interrupted = True
                self.cancel.set()
                concurrent.futures.wait(futures)
            for f in futures:
                f.result()
        return [r for r in runs if r is not None], interrupted


class SolverMixin:
    """The MLP estimators' training runs: ``_fit_stochastic`` and ``_fit_lbfgs`` train the
    estimator's ``network_`` and record the run in its fitted attributes."""

    def _fit_stochastic(self, p, X, Y, codes, w, first, incremental):
        net, c = self.network_, self._loss_scale()
        validation = validation_data = None
        if p.early_stopping:
            strata = codes if self._target in ("binary", "multiclass") else None
            rows, val_rows = validation_rows(X.shape[0], p.validation_fraction, self._rng, strata)
            Xv, Yv = X[val_rows], Y[val_rows]
            X, Y = X[rows], Y[rows]
            wv = None
            if w is not None:
                w, wv = np.ascontiguousarray(w[rows]), np.ascontiguousarray(w[val_rows])
                if not wv.any():
                    raise ValueError(
                        "Every sample of the validation split has weight 0: "
                        "the validation score is undefined. Change "
                        "validation_fraction or random_state, or turn "
                        "early_stopping off."
                    )
            validation = (
                ValidationScore(self._target, Xv, Yv, wv)
                if p.scoring is None
                else ScorerValidation(self, p.scoring, Xv, Yv, wv)
            )
            validation_data = (Xv, Yv) if wv is None else (Xv, Yv, wv)
        if w is not None and not w.any():
            raise ValueError("Every training sample left after the validation split has weight 0.")
        n = X.shape[0]
        # scikit-learn divides each batch's gradient and its alpha by the batch's weight sum;
        # nnfast by batch_size * mean(w) (MLPClassifier's Notes): the same in expectation,
        # and exactly the same for unit weights and for the full batch.
        w_mean = self._weight_scale * (1.0 if w is None else float(w.mean()))
        if p.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if p.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is "
                    "going to be clipped",
                    UserWarning,
                    stacklevel=4,
                )
            batch_size = min(p.batch_size, n)
        steps_per_epoch = -(-n // batch_size)

        resume = not first and self._optimizer_solver == p.solver
        if p.solver == "adam":
            optimizer = Adam(p.beta_1, p.beta_2, p.epsilon / c)
        else:
            optimizer = SGD(p.momentum, nesterov=p.nesterovs_momentum and p.momentum > 0)
        state = dict(self._state)
        rate = state["learning_rate"] if p.learning_rate == "adaptive" else p.learning_rate_init
        schedule = invscaling = None
        if p.solver == "sgd" and p.learning_rate == "invscaling":
            done = net._optimizer_state.step[0] if resume else 0
            if done % steps_per_epoch == 0 and self.t_ == done // steps_per_epoch * n:
                # scikit-learn's lr / (t + 1) ** power_t with t = n * epoch samples seen,
                # computed inside the compiled loop.
                schedule = schedules.InverseTimeDecay(
                    decay_rate=float(n), decay_steps=1, per="epoch", power=p.power_t
                )
            else:  # other batches before (partial_fit): from t_ in Python, per epoch
                rate = p.learning_rate_init / (self.t_ + 1) ** p.power_t
                invscaling = (c * p.learning_rate_init, p.power_t, self.t_, n)
        # SGD's step is the rate times the gradient, which is 1/c times scikit-learn's: the
        # rate is scaled by c. Adam's step does not depend on the gradient's scale.
        rate_scale = c if p.solver == "sgd" else 1.0
        rule = StoppingRule(
            state=state,
            tol=p.tol,
            n_iter_no_change=p.n_iter_no_change,
            adaptive=p.solver == "sgd" and p.learning_rate == "adaptive",
            loss_scale=c,
            rate_scale=rate_scale,
            validation=validation,
            invscaling=invscaling,
            verbose=p.verbose,
        )
        epochs = 1 if incremental else p.max_iter
        interrupted = diverged = False
        try:
            history = train(
                net,
                X,
                Y,
                epochs=epochs,
                learning_rate=rate_scale * rate,
                batch_size=batch_size,
                shuffle=p.shuffle,
                seed=self._rng,
                optimizer=optimizer,
                lr_schedule=schedule,
                l1=p.l1 / c,
                l2=p.alpha / (c * batch_size * w_mean),
                dropout=p.dropout,
                validation_data=validation_data,
                sample_weight=w,
                restarts=p.restarts if first else 1,
                n_jobs=p.n_jobs,
                callbacks=[rule, *p.callbacks],
                resume=resume,
                on_divergence="raise",
                clip_norm=p.clip_norm,
                clip_value=p.clip_value,
            )
        except KeyboardInterrupt:  # scikit-learn keeps the model trained so far
            history, interrupted = net.history or History(), True
            if first and not history.epochs:
                raise Unfit(
                    "Training interrupted by user before its first epoch ended: the "
                    "model is not fitted."
                ) from None
            if not incremental:
                warnings.warn("Training interrupted by user.", UserWarning, stacklevel=4)
        except FloatingPointError:  # the weights are back at the last usable epoch's
            history = net.history
            if p.early_stopping:  # the best epoch's weights are kept, as in scikit-learn,
                # and the diverged epoch is recorded as scikit-learn records it: a NaN score
                history.__dict__.setdefault("validation_score", [])
                history.validation_score.extend(
                    [np.nan] * (history.epochs - len(history.validation_score))
                )
            else:  # scikit-learn's weights would be non-finite: ValueError, below
                diverged = True
                drop_last_epoch(history)  # the non-finite one
        scores = getattr(history, "validation_score", None)
        if scores is not None:
            del scores[history.epochs :]
        self._optimizer_solver = p.solver
        self._state = {**state, **getattr(history, "_mlp_state", {})}
        self.n_iter_ = history.epochs
        self.t_ += n * history.epochs
        self._record(history, first)
        if not p.early_stopping:
            self.validation_scores_ = self.validation_loss_curve_ = None
        else:
            if first or getattr(self, "validation_scores_", None) is None:
                self.validation_scores_, self.validation_loss_curve_ = [], []
            self.validation_scores_.extend(getattr(history, "validation_score", []))
            self.validation_loss_curve_.extend(history.val_loss)
        self.best_loss_ = None if p.early_stopping else self._state["best_loss"]
        self.best_validation_score_ = self._state["best_score"] if p.early_stopping else None
        if diverged:
            raise ValueError(
                NONFINITE + f" (The loss of epoch {history.epochs} was not finite;"
                f" try a smaller learning_rate_init.)"
            )
        if interrupted and incremental:  # the model is consistent; the caller's loop stops
            raise KeyboardInterrupt
        if (
            not incremental
            and not interrupted
            and history.epochs == epochs
            and history.stopped_epoch is None
        ):
            warn(
                f"Stochastic Optimizer: Maximum iterations ({p.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _record(self, history, first):
        """Append a training run to ``loss_curve_`` and to the cumulative ``history_``."""
        self.loss_curve_.extend(history.loss)
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else np.nan
        if first or self.history_ is None:
            self.history_ = history
            return
        total, offset = self.history_, self.history_.epochs
        for name in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
            getattr(total, name).extend(getattr(history, name))
        scores = getattr(history, "validation_score", [])
        if scores:
            total.__dict__.setdefault("validation_score", []).extend(scores)
        total.best_epoch = None if history.best_epoch is None else offset + history.best_epoch
        if history.restored_epoch is not None:
            total.restored_epoch = offset + history.restored_epoch
        elif not getattr(history, "kept_start", False):
            total.restored_epoch = None
        total.stopped_epoch = (
            None if history.stopped_epoch is None else offset + history.stopped_epoch
        )
        total.interrupted = history.interrupted

    def _fit_lbfgs(self, p, X, Y, w, first):
        net, c = self.network_, self._loss_scale()
        spec = net.spec
        restarts = p.restarts if first else 1
        workers = min(restarts, _check_jobs(p.n_jobs, restarts))
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
        # scikit-learn's alpha / (2 * sum(w)) * ||W||^2 (sum(w) = n_samples unweighted)
        total = X.shape[0] if w is None else float(w.sum())
        solver = Lbfgs(
            _backend.kernels(),
            spec,
            X,
            Y,
            w,
            p.l1 / c,
            p.alpha / (c * total * self._weight_scale),
            c,
            p,
        )
        runs, interrupted = solver.runs(net, self._rng, restarts, workers)
        fun = [r.fun if np.isfinite(r.fun) else np.inf for r, _ in runs]
        best = int(np.argmin(fun))
        result, curve = runs[best]
        interrupted = interrupted or result.interrupted
        if first and interrupted and not any(curve for _, curve in runs):
            raise Unfit(
                "Training interrupted by user before its first iteration ended: the "
                "model is not fitted."
            )
        finite = all_finite(np.ascontiguousarray(result.x, dtype=np.float64))
        if finite:
            net.parameters[:] = result.x
        self._optimizer_solver = None  # a later stochastic run starts a fresh optimizer
        history = History()
        history.loss = curve
        history.best_epoch = int(np.argmin(curve)) if curve else None
        history.interrupted = interrupted
        if len(runs) > 1:
            history.restart = best
            history.restart_losses = [float(f) / c for f in fun]
        net.history = history
        self.n_iter_ = min(int(result.nit), p.max_iter)
        self._record(history, first)
        if not curve:
            params = net._kernel_parameters()
            self.loss_ = float(solver.loss(params) - solver.penalty(params))
        self.best_loss_ = min(self.loss_curve_) if self.loss_curve_ else self.loss_
        self.validation_scores_ = self.validation_loss_curve_ = None
        self.best_validation_score_ = None
        if (
            not finite
            or not np.isfinite(self.loss_)
            or not all_finite(outputs(net, X, report=False))
        ):
            raise ValueError(NONFINITE)
        if interrupted:
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=5)
        elif result.status != 0:
            message = (
                result.message.decode() if isinstance(result.message, bytes) else result.message
            )
            warn(
                f"lbfgs failed to converge after {result.nit} iteration(s) (status="
                f"{result.status}): {message}\nIncrease the number of iterations (max_iter) "
                f"or of function evaluations (max_fun), or scale the data.",
                ConvergenceWarning,
                stacklevel=5,
            )
