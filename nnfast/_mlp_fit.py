"""The MLP estimators' two ways to train, as scikit-learn's ``_fit_stochastic`` and
``_fit_lbfgs``: the data split and the runs set up here, the epochs and the iterations in
``nnfast._mlp_solvers``."""

from __future__ import annotations

import copy
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ._mlp_lbfgs import Lbfgs, lbfgs_memory, lbfgs_warning, objective
from ._mlp_random import extra_rng, split_rows
from ._mlp_scores import ScorerValidation, ValidationScore, reported_loss
from ._mlp_solvers import (
    NONFINITE,
    Data,
    Run,
    Unfit,
    glorot_factor,
    new_optimizer,
    outputs,
    run_restarts,
    train_run,
)
from ._spec import Csr
from ._validation import all_finite, as_dtype, as_float_array, check_sample_weight
from .callbacks import History
from .exceptions import ConvergenceWarning, warn
from .training import _check_jobs

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from ._mlp_random import RandomSource
    from ._mlp_solvers import MLPState, Params, Rows
    from ._typing import FloatArray, RealArray

    _State = MLPState  # the estimator's state and methods the solvers use, declared once
else:
    _State = object


class SolverMixin(_State):
    """``_fit_stochastic`` and ``_fit_lbfgs`` train the estimator's network and record the
    run in its fitted attributes; ``_loss_grad_lbfgs`` is scikit-learn's objective."""

    def _fit_stochastic(
        self,
        p: Params,
        X: Rows,
        Y: RealArray,
        weights: tuple[RealArray | None, float],
        first: bool,
        incremental: bool,
        rs: RandomSource,
    ) -> None:
        net = self._net
        w, w_scale = weights
        if not incremental or getattr(self, "_optimizer", None) is None:
            self._optimizer = new_optimizer(p, net.spec.n_params, X.dtype)
        if p.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        # what a warm start from 'lbfgs' (which keeps none of it) starts from
        if getattr(self, "loss_curve_", None) is None:
            self.loss_curve_ = []
        if getattr(self, "_no_improvement_count", None) is None:
            self._no_improvement_count = 0
        if getattr(self, "t_", None) is None:
            self.t_ = 0
        if getattr(self, "best_loss_", None) is None and not p.early_stopping:
            self.best_loss_ = np.inf
        val = None
        if p.early_stopping:
            scores = getattr(self, "validation_scores_", None)
            if scores is None:
                self.validation_scores_, self.validation_loss_curve_ = [], []
                self.best_validation_score_ = -np.inf
            elif getattr(self, "validation_loss_curve_", None) is None:
                self.validation_loss_curve_ = [np.nan] * len(scores)
            # stratified by the binarized y when it is one column, as scikit-learn's
            stratify = Y > 0.5 if self._target == "binary" else None
            train, held = split_rows(X.shape[0], p.validation_fraction, rs, stratify)
            if held.size < 2:
                raise ValueError(
                    "The validation set is too small. Increase 'validation_fraction' "
                    "or the size of your dataset."
                )
            Xv, Yv = X[held], Y[held]
            wv = None if w is None else w[held]
            X = X[train] if isinstance(X, Csr) else np.ascontiguousarray(X[train])
            Y = np.ascontiguousarray(Y[train])
            w = None if w is None else np.ascontiguousarray(w[train])
            if w is not None and not w.any():
                raise ValueError(
                    "Every training sample left after the validation split has weight 0."
                )
            if wv is not None and not wv.any():
                raise ValueError(
                    "Every sample of the validation split has weight 0: the validation "
                    "score is undefined. Change validation_fraction or random_state, or "
                    "turn early_stopping off."
                )
            loss = reported_loss(self._target, p.loss)
            val = (
                ValidationScore(self._target, Xv, Yv, wv, loss)
                if p.scoring is None
                else ScorerValidation(self, p.scoring, Xv, Yv, wv, loss)
            )
        else:
            self.validation_scores_ = self.best_validation_score_ = None
            self.validation_loss_curve_ = None
        data = Data(self, p, X, Y, w, w_scale, val, incremental)
        run = Run.of(self, rs)
        restarts = p.restarts if first else 1
        finals = None
        if restarts == 1:
            train_run(data, run, p.verbose)
        else:
            children = extra_rng(rs).spawn(restarts - 1)
            run, finals = run_restarts(
                data,
                run,
                lambda i: self._restart_run(p, children[i - 1]),
                restarts,
                p.n_jobs,
                p.verbose,
            )
        if first and run.interrupted and run.n_iter_ == 0:
            raise Unfit(
                "Training interrupted by user before its first epoch ended: the model "
                "is not fitted."
            )
        if run.net is not net:
            net.parameters[:] = run.net.parameters
            run.net = net
        run.commit(self)
        self._record(run.history, first, finals)
        if run.diverged:
            raise ValueError(NONFINITE)
        if run.interrupted:
            if incremental:  # the model is consistent; the caller's loop stops
                raise KeyboardInterrupt
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=4)
        elif not incremental and run.n_iter_ == p.max_iter and run.history.stopped_epoch is None:
            warn(
                f"Stochastic Optimizer: Maximum iterations ({p.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=5,
            )

    def _restart_run(self, p: Params, child: np.random.Generator) -> Run:
        """Restart i > 0: its own RandomState (seeded from ``child``), initial weights drawn
        from it as scikit-learn draws them, fresh optimizer and records."""
        rs = np.random.RandomState(int(child.integers(2**32)))
        net = self._net
        twin = self._new_network(net.layer_sizes)
        for l, (W, b) in enumerate(zip(twin.weights, twin.biases)):
            bound = np.sqrt(glorot_factor(p, l) / sum(W.shape))
            W[...] = rs.uniform(-bound, bound, W.shape)
            b[...] = rs.uniform(-bound, bound, b.shape)
        early = p.early_stopping
        run = Run(
            twin,
            new_optimizer(p, net.spec.n_params, net.dtype),
            rs,
            twin.parameters.copy(),
            loss_curve_=[],
            best_loss_=None if early else np.inf,
            validation_scores_=[] if early else None,
            best_validation_score_=-np.inf if early else None,
            _no_improvement_count=0,
            t_=0,
            validation_loss_curve_=[] if early else None,
        )
        run.callbacks = copy.deepcopy(p.callbacks)  # each restart its own
        return run

    def _record(self, history: History, first: bool, finals: list[float] | None = None) -> None:
        """Append this call's records to the cumulative ``history_``."""
        if finals is not None:
            history.restart_losses = finals
            history.restart = finals.index(self.loss_) if self.loss_ in finals else 0
        total: History | None = getattr(self, "history_", None)
        if first or total is None:
            self.history_ = history
            return
        offset = total.epochs
        for name in ("loss", "accuracy", "val_loss", "learning_rate"):
            getattr(total, name).extend(getattr(history, name))
        if history.best_epoch is not None:
            total.best_epoch = offset + history.best_epoch
        if history.restored_epoch is not None:  # else the weights kept are an earlier fit's
            total.restored_epoch = offset + history.restored_epoch
        total.stopped_epoch = (
            None if history.stopped_epoch is None else offset + history.stopped_epoch
        )
        total.interrupted = history.interrupted

    def _fit_lbfgs(
        self,
        p: Params,
        X: Rows,
        Y: RealArray,
        weights: tuple[RealArray | None, float],
        first: bool,
        rs: RandomSource,
    ) -> None:
        net = self._net
        restarts = p.restarts if first else 1
        workers = min(restarts, _check_jobs(p.n_jobs, restarts))
        lbfgs_memory(net.spec, X, restarts, workers)
        solver = Lbfgs(objective(self, p, X, Y, weights), p)
        children = extra_rng(rs).spawn(restarts - 1) if restarts > 1 else []
        starts = [lambda: net.parameters.copy()] + [
            (lambda child=child: self._restart_run(p, child).net.parameters.copy())
            for child in children
        ]
        runs, interrupted = solver.runs(starts, workers)
        fun = [r.fun if np.isfinite(r.fun) else np.inf for r, _ in runs]
        best = int(np.argmin(fun))
        result, curve = runs[best]
        interrupted = interrupted or result.interrupted
        if first and interrupted and not any(curve for _, curve in runs):
            raise Unfit(
                "Training interrupted by user before its first iteration ended: the "
                "model is not fitted."
            )
        before = net.parameters.copy()
        net.parameters[...] = result.x
        if (
            not all_finite(net._kernel_parameters())
            or not np.isfinite(result.fun)
            or not all_finite(outputs(net, X, report=False))
        ):  # scikit-learn raises for weights; nnfast also for a model useless on X, and
            # keeps the weights it had
            net.parameters[...] = before
            raise ValueError(NONFINITE)
        self._optimizer = None  # a later stochastic fit starts a fresh optimizer
        history = History()
        history.loss = list(curve)
        history.interrupted = interrupted
        if len(runs) > 1:
            history.restart = best
            history.restart_losses = [float(f) for f in fun]
        self.n_iter_ = min(int(result.nit), p.max_iter)
        self.loss_ = float(result.fun)
        self._record(history, first)
        if interrupted:
            warnings.warn("Training interrupted by user.", UserWarning, stacklevel=5)
        elif result.status != 0:
            lbfgs_warning(result)

    def _loss_grad_lbfgs(
        self,
        packed_coef_inter: ArrayLike,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
        activations: object = None,
        deltas: object = None,
        coef_grads: object = None,
        intercept_grads: object = None,
    ) -> tuple[float, FloatArray]:
        """scikit-learn's objective of 'lbfgs' at ``packed_coef_inter`` (the weights, then
        the intercepts, flat): (loss, gradient), as its private method of this name
        returns them. ``y`` is the binarized target (LabelBinarizer's columns); like
        scikit-learn's, this sets the model's weights to ``packed_coef_inter``. The last
        four arguments are scikit-learn's work buffers, accepted and not needed."""
        net = self._network("_loss_grad_lbfgs")
        x = as_float_array(packed_coef_inter, "packed_coef_inter", ndim=(1,))
        if x.shape != (net.spec.n_params,):
            raise ValueError(
                f"packed_coef_inter must hold {net.spec.n_params} values (every weight, "
                f"then every intercept), got {x.shape[0]}."
            )
        rows = as_dtype(as_float_array(X, "X", ndim=(2,)), net.dtype)
        Y = as_float_array(y, "y", ndim=(1, 2)).reshape(rows.shape[0], -1)
        w = check_sample_weight(sample_weight, rows.shape[0], scalar=True)
        w = None if w is None else np.ascontiguousarray(w, dtype=net.dtype)
        net.parameters[...] = x
        p = self._checked_params()
        f = objective(self, p, rows, np.ascontiguousarray(Y, dtype=net.dtype), (w, 1.0))
        grad = np.empty(net.spec.n_params)
        return f(net._kernel_parameters(), grad), grad
