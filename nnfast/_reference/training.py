"""The NumPy reference, the training loop."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np

from .._spec import (
    SKLEARN,
    check_evaluate,
    check_forward,
    check_layer_outputs,
    check_loss_and_gradient,
    check_train_epochs,
    check_workspace,
    state_buffers,
)
from .activations import activate, activate_and_derivative
from .dense import (
    batch_norm_backward,
    batch_norm_forward,
    batch_norm_inference,
    batch_norm_running,
    bias_gradient,
    dense_backward,
    dense_forward,
    first_layer_forward,
    first_layer_weight_gradient,
    weight_gradient,
)
from .losses import (
    _output_step,
    accuracy_scale,
    loss_scale,
    penalty,
    penalty_gradient,
    sklearn_scales,
)
from .optimizers import clip_gradient, update
from .randomness import dropout_masks, shuffle_order

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import DTypeLike

    from .._spec import Csr, Hyper, OptimizerState, Spec
    from .._typing import FloatArray, RealArray


class Workspace:
    """What persists across ``train_epochs`` calls of one training run: the sample order,
    and the state at the end of the last good epoch (parameters, optimizer state, sample
    order; restored on divergence or Ctrl-C). ``sparse``: for sparse X (a Csr), whose
    batches the compiled loop reads in place."""

    def __init__(
        self,
        spec: Spec,
        n_samples: int,
        batch_size: int,
        dtype: DTypeLike | None = None,
        *,
        sparse: bool = False,
    ) -> None:
        self.dtype = check_workspace(spec, n_samples, batch_size, dtype)
        self.spec, self.batch_size, self.sparse = spec, batch_size, bool(sparse)
        self.order = np.arange(n_samples, dtype=np.intp)
        self.grad = np.zeros(spec.n_params, self.dtype)
        self.last_good = np.zeros(spec.n_params, self.dtype)
        # name -> the optimizer state's buffer it keeps
        self.last_moments: dict[str, RealArray] = {}
        self.last_step = 0
        self.epochs_done = 0
        self.diverged = False
        self.cancelled = False  # set by another thread to stop the run (KeyboardInterrupt)

    def save(self, params: RealArray, state: OptimizerState, hyper: Hyper) -> None:
        self.last_good[:] = params
        self.last_order = self.order.copy()
        self.last_moments = {name: getattr(state, name).copy() for name in state_buffers(hyper)}
        self.last_step = state.step[0]

    def restore(self, params: RealArray, state: OptimizerState) -> None:
        params[:] = self.last_good
        self.order[:] = self.last_order
        for name, saved in self.last_moments.items():
            getattr(state, name)[:] = saved
        state.step[0] = self.last_step


def weight_sum(sample_weight: RealArray | None, n: int) -> float:
    """The data set's total weight: n rows, or the sum of their weights (in float64)."""
    return n if sample_weight is None else float(np.sum(sample_weight, dtype=np.float64))


def _backprop(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    Y: RealArray,
    masks: Sequence[RealArray | None] | None,
    grad: RealArray | None,
    w: RealArray | None = None,
    w_mean: float = 1.0,
    training: bool = True,
    scale: float | None = None,
) -> tuple[float, float]:
    """Forward and backward pass over one batch; grad := d(mean loss)/d(params).

    ``masks`` holds one inverted-dropout mask per hidden layer (or None); ``w`` the batch's
    sample weights (see ``output_step``); ``scale`` the output delta's factor (None: the
    batch's ``loss_scale``). Returns the summed (weighted) loss of the batch and its
    (weighted) number of correct predictions; with ``grad=None`` only the forward pass and
    the loss are computed. With batch normalisation each hidden layer is dense ->
    normalisation -> activation -> dropout (torch's usual order), normalised by the batch's
    statistics when ``training`` (which then also move the running ones, with
    ``masks is not None``: a training step), else by the running statistics.
    """
    weights, biases = spec.unpack(params)
    gammas, betas, means, variances = spec.unpack_norm(params)
    # per hidden layer: its output a (the next layer's input; the first layer's is X), f'(z)
    # and, with batch normalisation, (xhat, inv_std)
    outputs: list[RealArray] = []
    derivs: list[RealArray] = []
    norms: list[tuple[RealArray, RealArray]] = []
    for l, (code, alpha, W, b) in enumerate(
        zip(spec.activations, spec.layer_alphas(), weights, biases)
    ):
        z = first_layer_forward(X, W, b) if l == 0 else dense_forward(outputs[-1], W, b)
        if l == spec.n_layers - 1:
            break
        if spec.batch_norm and training:
            z, xhat, inv_std, mean, var = batch_norm_forward(z, gammas[l], betas[l])
            norms.append((xhat, inv_std))
            if masks is not None:
                batch_norm_running(means[l], variances[l], mean, var, z.shape[0])
        elif spec.batch_norm:
            z = batch_norm_inference(z, gammas[l], betas[l], means[l], variances[l])
        a, d = activate_and_derivative(code, z, alpha)
        mask = None if masks is None else masks[l]
        if mask is not None:
            a = a * mask
            d = d * mask
        outputs.append(a)
        derivs.append(d)
    if scale is None:
        scale = loss_scale(spec, z.shape[0])
    total, correct, delta = _output_step(spec, z, Y, w, w_mean, scale)
    if grad is None:
        return total, correct
    g_weights, g_biases = spec.unpack(grad)
    g_gammas, g_betas, _, _ = spec.unpack_norm(grad)
    for l in reversed(range(spec.n_layers)):
        if l == 0:
            g_weights[l][...] = first_layer_weight_gradient(X, delta)
        else:
            g_weights[l][...] = weight_gradient(outputs[l - 1], delta)
        g_biases[l][...] = bias_gradient(delta)
        if l > 0:
            delta = dense_backward(delta, weights[l], derivs[l - 1])
            if spec.batch_norm:
                xhat, inv_std = norms[l - 1]
                delta, g_gammas[l - 1][...], g_betas[l - 1][...] = batch_norm_backward(
                    delta, xhat, gammas[l - 1], inv_std
                )
    return total, correct


def sklearn_batch(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    Y: RealArray,
    masks: Sequence[RealArray | None] | None,
    grad: RealArray,
    w: RealArray | None,
    hyper: Hyper,
) -> tuple[float, float]:
    """One batch in scikit-learn's convention (``Hyper.convention`` SKLEARN): grad := the
    gradient of (sum_B w_i l_i + l1 |W| + l2 / 2 ||W||^2) / S_B, S_B the batch's weight sum;
    returns (|B| times that objective before the step, the weighted correct predictions),
    scikit-learn's share of the epoch's loss."""
    rows = X.shape[0]
    s_b = weight_sum(w, rows)
    loss_factor, delta_factor = sklearn_scales(spec)
    total, correct = _backprop(spec, params, X, Y, masks, grad, w, 1.0, scale=delta_factor / s_b)
    grad[: spec.n_weights] += penalty_gradient(spec, params, hyper.l1 / s_b, hyper.l2 / s_b)
    batch_loss = loss_factor * total / s_b + penalty(spec, params, hyper.l1, hyper.l2) / s_b
    return batch_loss * rows, correct


def layer_outputs(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    outs: list[RealArray] | tuple[RealArray, ...],
    pre_activations: bool = False,
) -> None:
    """outs[l] := layer l's outputs for the batch X, or with ``pre_activations`` what its
    activation is applied to (after batch normalisation, by the running statistics)."""
    check_layer_outputs(spec, params, X, outs)
    weights, biases = spec.unpack(params)
    gammas, betas, means, variances = spec.unpack_norm(params)
    a: RealArray | Csr = X
    for l, (code, alpha, W, b) in enumerate(
        zip(spec.activations, spec.layer_alphas(), weights, biases)
    ):
        if l == 0:
            z = first_layer_forward(a, W, b)
        else:  # past the first layer, a is the previous layer's (dense) output
            z = dense_forward(cast("RealArray", a), W, b)
        if spec.batch_norm and l < spec.n_layers - 1:
            z = batch_norm_inference(z, gammas[l], betas[l], means[l], variances[l])
        a = activate(code, z, alpha)
        outs[l][...] = z if pre_activations else a


def forward(spec: Spec, params: RealArray, X: RealArray | Csr, out: RealArray) -> None:
    """out := the network's output for the batch X (batch normalisation by the running
    statistics)."""
    check_forward(spec, params, X, out)
    outs = [np.empty((X.shape[0], n), X.dtype) for n in spec.sizes[1:-1]] + [out]
    layer_outputs(spec, params, X, outs)


def evaluate(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    Y: RealArray,
    sample_weight: RealArray | None = None,
) -> tuple[float, float]:
    """(mean loss, accuracy) over (X, Y), without regularisation; accuracy is NaN for MSE.
    With ``sample_weight`` both are weighted means."""
    check_evaluate(spec, params, X, Y, sample_weight)
    n = weight_sum(sample_weight, X.shape[0])
    total, correct = _backprop(
        spec, params, X, Y, None, None, sample_weight, n / X.shape[0], training=False
    )
    return total * loss_scale(spec, n), correct * accuracy_scale(spec, n)


def loss_and_gradient(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    Y: RealArray,
    l1: float,
    l2: float,
    grad: RealArray | None,
    sample_weight: RealArray | None = None,
) -> float:
    """Regularised (weighted) mean loss over (X, Y); grad := its gradient, unless None."""
    check_loss_and_gradient(spec, params, X, Y, grad, sample_weight)
    n = weight_sum(sample_weight, X.shape[0])
    total, _ = _backprop(spec, params, X, Y, None, grad, sample_weight, n / X.shape[0])
    if grad is not None:
        grad[: spec.n_weights] += penalty_gradient(spec, params, l1, l2)
    return total * loss_scale(spec, n) + penalty(spec, params, l1, l2)


def train_epochs(
    spec: Spec,
    params: RealArray,
    X: RealArray | Csr,
    Y: RealArray,
    n_epochs: int,
    batch_size: int,
    shuffle: bool,
    state: OptimizerState,
    hyper: Hyper,
    rng: np.random.Generator,
    workspace: Workspace,
    history_out: FloatArray,
    sample_weight: RealArray | None = None,
) -> int:
    """Run ``n_epochs`` passes of mini-batch training, recording each epoch's metrics.

    Each epoch optionally shuffles the sample order in place (``shuffle_order``), then for
    each batch: dropout masks, forward, backward, penalty gradient, clipping, optimizer
    update.
    ``history_out[e] := (mean loss, accuracy)`` of epoch e (weighted means with
    ``sample_weight``, see ``output_step``), both measured on each batch before its update
    (the loss without the penalty; accuracy NaN for MSE). With ``hyper.convention ==
    SKLEARN`` the batches' gradients, penalty and the epoch's loss are scikit-learn's
    (``sklearn_batch``). Returns the number of epochs run;
    an epoch whose loss or resulting parameters are not finite ends the call, with params
    and optimizer state put back to the end of the last finite epoch and
    ``workspace.diverged`` set. On KeyboardInterrupt (or ``workspace.cancelled``) they go
    back to the end of the last complete epoch (``workspace.epochs_done``).
    """
    check_train_epochs(
        spec,
        params,
        X,
        Y,
        n_epochs,
        batch_size,
        state,
        hyper,
        workspace,
        history_out,
        sample_weight,
    )
    n = X.shape[0]
    w_total = weight_sum(sample_weight, n)
    order, grad = workspace.order, workspace.grad
    workspace.epochs_done = 0
    workspace.diverged = False
    workspace.save(params, state, hyper)
    try:
        for e in range(n_epochs):
            if shuffle:
                shuffle_order(rng, order)
            total = correct = 0.0
            for start in range(0, n, batch_size):
                if workspace.cancelled:
                    raise KeyboardInterrupt("training cancelled")
                rows = order[start : start + batch_size]
                masks = dropout_masks(spec, hyper, rng, rows.size, X.dtype)
                w = None if sample_weight is None else sample_weight[rows]
                if hyper.convention == SKLEARN:
                    batch_total, batch_correct = sklearn_batch(
                        spec, params, X[rows], Y[rows], masks, grad, w, hyper
                    )
                else:
                    batch_total, batch_correct = _backprop(
                        spec, params, X[rows], Y[rows], masks, grad, w, w_total / n
                    )
                    grad[: spec.n_weights] += penalty_gradient(spec, params, hyper.l1, hyper.l2)
                total += batch_total
                correct += batch_correct
                trained = slice(spec.n_trainable)  # not the running statistics after them
                clip_gradient(hyper, grad[trained])
                update(hyper, params[trained], grad[trained], state)
            history_out[e] = (
                total / n if hyper.convention == SKLEARN else total * loss_scale(spec, w_total),
                correct * accuracy_scale(spec, w_total),
            )
            if not (np.isfinite(history_out[e, 0]) and np.isfinite(params).all()):
                workspace.restore(params, state)
                workspace.epochs_done = e + 1
                workspace.diverged = True
                return e + 1
            workspace.save(params, state, hyper)
            workspace.epochs_done = e + 1
    except KeyboardInterrupt:  # Ctrl-C or cancelled: back to the end of the last epoch
        workspace.restore(params, state)
        raise
    return n_epochs
